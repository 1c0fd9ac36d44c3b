// Static panels: every picture was rendered in advance by the panel's own code; a control change
// only looks up the frame for the current control positions and shows it. The frames one move away
// (every position of each control, the others unchanged) are decoded ahead, while the browser is
// idle, so that the next change is shown in the next animation frame.
(() => {
  const table = document.getElementById("sp-frames");
  if (!table) return;
  const frames = JSON.parse(table.textContent);
  const source = i => "data:image/png;base64," + frames[i];
  const decoded = new Map();  // frame -> Image decoded ahead; least recently wanted first
  const KEEP = 128;
  const later = window.requestIdleCallback || (f => setTimeout(f, 1));
  const warm = ids => {
    for (const id of ids) {
      let image = decoded.get(id);
      if (image) decoded.delete(id);
      else { image = new Image(); image.src = source(id); image.decode().catch(() => {}); }
      decoded.set(id, image);
    }
    for (const id of decoded.keys()) { if (decoded.size <= KEEP) break; decoded.delete(id); }
  };
  const position = el => el.type === "checkbox" ? Number(el.checked)
    : el.tagName === "SELECT" ? el.selectedIndex : Number(el.value);

  const setup = panel => {
    const data = JSON.parse(panel.querySelector("script.sp-data").textContent);
    const inputs = Array.from(panel.querySelectorAll("[data-i]"));
    const outputs = inputs.map(el => el.closest(".sp-control").querySelector("output"));
    const img = panel.querySelector("img.sp-image");
    const readout = panel.querySelector(".sp-readout");
    const strides = data.sizes.map((_, i) => data.sizes.slice(i + 1).reduce((a, b) => a * b, 1));
    let shown = -1, visible = false, k = 0;
    const neighbours = () => {
      const ids = [];
      inputs.forEach((el, i) => {
        const p = position(el);
        for (let q = 0; q < data.sizes[i]; q++) if (q !== p) ids.push(data.frames[k + (q - p) * strides[i]]);
      });
      return ids;
    };
    const show = () => {
      k = 0;
      inputs.forEach((el, i) => {
        const p = position(el);
        k += p * strides[i];
        if (outputs[i]) outputs[i].textContent = data.labels[i][p];
      });
      const frame = data.frames[k];
      if (frame !== shown) { img.src = source(frame); shown = frame; }
      if (data.enabled) inputs.forEach((el, i) => { el.disabled = !((data.enabled[k] >> i) & 1); });
      if (data.readouts) readout.innerHTML = data.readouts[data.readout[k]];
      if (visible) later(() => warm(neighbours()));
    };
    for (const el of inputs) { el.addEventListener("input", show); el.addEventListener("change", show); }
    show();
    const start = () => { if (!visible) { visible = true; later(() => warm(neighbours())); } };
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(entries => { if (entries.some(e => e.isIntersecting)) start(); },
                               {rootMargin: "300px"}).observe(panel);
    } else start();
  };
  document.querySelectorAll(".static-panel").forEach(setup);
})();
