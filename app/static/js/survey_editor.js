// Survey editor: "定位到第 N 行" next to a definition error selects that line of the YAML.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-goto-line]");
  if (!button) return;
  const box = document.getElementById(button.getAttribute("aria-controls"));
  if (!box) return;
  const wanted = Number(button.dataset.gotoLine);
  const lines = box.value.split("\n");
  const line = Math.min(Math.max(wanted, 1), lines.length);
  let start = 0;
  for (let i = 0; i < line - 1; i += 1) start += lines[i].length + 1;
  box.focus();
  box.setSelectionRange(start, start + lines[line - 1].length);
  const height = parseFloat(getComputedStyle(box).lineHeight) || 20;
  box.scrollTop = Math.max(0, (line - 4) * height);
});
