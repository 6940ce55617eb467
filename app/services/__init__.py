"""Use cases. Each public function is one transaction; views, jobs and CLI call these."""
