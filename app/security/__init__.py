"""Security primitives: password hashing, personal-data encryption, tokens."""
