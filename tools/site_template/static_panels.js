// Static panels: every picture was rendered in advance by the panel's own code; a control change
// only looks up the frame for the current control positions and shows it. The frames one move away
// (every position of each control, the others unchanged) are decoded ahead, while the browser is
// idle, so that the next change is shown in the next animation frame.
(() => {
  // bit i of a mask of the controls (a panel may have more than 32 controls; JavaScript's >> works on 32 bits)
  const bit = (mask, i) => Math.floor(mask / 2 ** i) % 2 === 1;
  const table = document.getElementById("sp-frames");
  if (!table) return;
  const frames = JSON.parse(table.textContent);
  const source = i => (frames[i].startsWith("UklGR") ? "data:image/webp;base64," : "data:image/png;base64,") + frames[i];
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
    // by their place in the panel (the page lays them out in the panel's groups, not in that order)
    const inputs = Array.from(panel.querySelectorAll("[data-i]")).sort((a, b) => a.dataset.i - b.dataset.i);
    const groups = Array.from(panel.querySelectorAll("fieldset.sp-group"));
    const outputs = inputs.map(el => el.closest(".sp-control").querySelector("output"));
    const img = panel.querySelector("img.sp-image");
    const readout = panel.querySelector(".sp-readout");
    // The frame of the positions ps is data.frames[sum of data.steps[i][ps[i]]]: the builder writes the
    // steps (tools/site/grid.py, index_steps), so the order of the frames is defined there only.
    const sizes = data.steps.map(s => s.length);
    const solo = data.solo || sizes.map(() => 0);
    const index = ps => ps.reduce((k, p, i) => k + data.steps[i][p], 0);
    // A named state has entries of its own (its exact render, also when it moves several solo controls),
    // written by the builder with the positions they are shown at (tools/site/render.py, render_states).
    const stateAt = new Map((data.states || []).map(s => [s.positions.join(","), s.index]));
    const entry = ps => { const k = stateAt.get(ps.join(",")); return k === undefined ? index(ps) : k; };
    // Unless the positions are a state's: a value only states use (data.snap[i][p] !== p) goes to the rendered
    // value the builder names (the moved control: on to the next rendered one the way it moved); and one solo
    // control away from its default at a time: moving one (or, after a state that moved several, any control)
    // puts the other solo controls back to their defaults.
    let last = inputs.map(position);  // the positions shown
    const onward = (j, p) => {
      for (let q = p, step = p >= last[j] ? 1 : -1; q >= 0 && q < data.snap[j].length; q += step) {
        if (data.snap[j][q] === q) return q;
      }
      return data.snap[j][p];
    };
    const settle = (ps, moved) => {
      if (moved < 0 || stateAt.has(ps.join(","))) return ps;
      if (data.snap) ps = ps.map((p, j) => data.snap[j][p] === p ? p : j === moved ? onward(j, p) : data.snap[j][p]);
      const away = ps.filter((p, j) => solo[j] && j !== moved && p !== data.defaults[j]).length;
      if (!(solo[moved] && ps[moved] !== data.defaults[moved]) && away <= 1) return ps;
      return ps.map((p, j) => solo[j] && j !== moved ? data.defaults[j] : p);
    };
    const set = (el, p) => {
      if (el.type === "checkbox") el.checked = p === 1;
      else if (el.tagName === "SELECT") el.selectedIndex = p;
      else el.value = String(p);
    };
    const presets = Array.from(panel.querySelectorAll("button[data-state]"));
    const plays = Array.from(panel.querySelectorAll("button.sp-play"));
    // where moving control i by one position from ps would go (the positions the page would settle on)
    const moveOne = (ps, i) => {
      const next = ps.slice();
      next[i] = ps[i] + 1 < sizes[i] ? ps[i] + 1 : ps[i] - 1;
      return next[i] < 0 ? null : settle(next, i);
    };
    const movedOff = (ps, i) => {
      const to = moveOne(ps, i);
      if (to === null) return false;
      const k = entry(to);
      return (data.enabled && !bit(data.enabled[k], i)) || (data.shown && !bit(data.shown[k], i));
    };
    const resets = (ps, i) => { const to = moveOne(ps, i); return to !== null && to.some((p, j) => j !== i && p !== ps[j]); };
    let shown = -1, visible = false;
    const neighbours = () => {
      const ps = inputs.map(position), ids = [];
      inputs.forEach((el, i) => {
        for (let q = 0; q < sizes[i]; q++) {
          if (q === ps[i]) continue;
          const next = ps.slice();
          next[i] = q;
          ids.push(data.frames[entry(settle(next, i))]);
        }
      });
      return ids;
    };
    const show = event => {
      const moved = event ? inputs.indexOf(event.target) : -1;
      const ps = settle(inputs.map(position), moved);
      last = ps;
      inputs.forEach((el, i) => { if (position(el) !== ps[i]) set(el, ps[i]); });
      ps.forEach((p, i) => { if (outputs[i]) outputs[i].textContent = data.labels[i][p]; });
      const k = entry(ps);
      const frame = data.frames[k];
      if (frame !== shown) { img.src = source(frame); shown = frame; }
      if (data.enabled) inputs.forEach((el, i) => { el.disabled = !bit(data.enabled[k], i); });
      // One solo control away from its default at a time: a solo control that is enabled only because another
      // is away (Nesterov's lr once Nesterov is ticked) would switch that one back, and itself off, when moved;
      // it is locked instead. A Play button whose steps would put other controls back (another † control moved,
      // or a preset) is disabled too.
      inputs.forEach((el, i) => {
        const off = solo[i] && !el.disabled && movedOff(ps, i);
        el.classList.toggle("sp-locked", off);
        if (off) { el.disabled = true; el.title = LOCKED; } else if (el.title === LOCKED) el.title = "";
      });
      plays.forEach(b => {
        const i = Number(b.dataset.play);
        b.disabled = inputs[i].disabled || (solo[i] && resets(ps, i));
        b.title = b.disabled && !inputs[i].disabled ? PLAY_LOCKED : "播放 · play";
      });
      if (data.shown) {  // another mode's controls are hidden, and a group with none shown
        inputs.forEach((el, i) => { el.closest(".sp-control").hidden = !bit(data.shown[k], i); });
        groups.forEach(g => { g.hidden = !g.querySelector(".sp-control:not([hidden])"); });
      }
      if (data.readouts) readout.innerHTML = data.readouts[data.readout[k]];
      const at = ps.join(",");  // the presets whose state is shown look pressed
      presets.forEach(b => b.setAttribute("aria-pressed", String(data.states[b.dataset.state].positions.join(",") === at)));
      if (data.title) img.alt = altText(data, ps, data.enabled ? data.enabled[k] : -1);
      if (data.readouts) markScroll(readout);
      if (visible) later(() => warm(neighbours()));
    };
    for (const el of inputs) { el.addEventListener("input", show); el.addEventListener("change", show); }
    plays.forEach(b => playButton(b, inputs[Number(b.dataset.play)]));
    presets.forEach(button => button.addEventListener("click", () => {
      const state = data.states[Number(button.dataset.state)];  // every control to the state's positions
      inputs.forEach((el, i) => set(el, state.positions[i]));
      show();
    }));
    show();
    pictureStrip(panel.querySelector(".sp-view"));
    const start = () => { if (!visible) { visible = true; later(() => warm(neighbours())); } };
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(entries => { if (entries.some(e => e.isIntersecting)) start(); },
                               {rootMargin: "300px"}).observe(panel);
    } else start();
  };
  // On a phone the picture is shown large enough to read, in a strip that scrolls sideways (site.css); the bar
  // under it says so, and its button fits the whole picture to the screen and back. The strip fades out at
  // the edge that has more.
  const pictureStrip = view => {
    const scroller = view && view.querySelector(".sp-scroll"), bar = view && view.querySelector(".sp-zoombar");
    if (!bar) return;
    const zoom = bar.querySelector(".sp-zoom"), hint = bar.querySelector(".sp-swipe");
    const update = () => {
      const fit = view.classList.contains("sp-fit");
      const wide = scroller.scrollWidth > scroller.clientWidth + 1;
      bar.hidden = !(wide || fit);
      hint.hidden = !wide;
      zoom.textContent = fit ? zoom.dataset.zoom : zoom.dataset.fit;
      zoom.setAttribute("aria-pressed", String(fit));
      scroller.classList.toggle("sp-more", wide && scroller.scrollWidth - scroller.clientWidth - scroller.scrollLeft > 2);
    };
    zoom.addEventListener("click", () => { view.classList.toggle("sp-fit"); update(); });
    scroller.addEventListener("scroll", update, {passive: true});
    window.addEventListener("resize", update);
    update();
  };
  const LOCKED = "† 一次只改一个：这个控件要和另一个 † 控件一起改，网页没有预渲染这种组合（点 ↺ 默认，或在 Jupyter/Colab 中运行本章）";
  const PLAY_LOCKED = "† 一次只改一个：其他 † 控件改动后没有预渲染动画，点 ↺ 默认后再播放（或在 Jupyter/Colab 中运行本章）";
  // What the picture shows, for a screen reader: the panel's title and every enabled control's value
  // (the same words as tools/site/page.py, alt_text).
  const altText = (data, ps, mask) => {
    const parts = ps.map((p, i) => (mask < 0 || bit(mask, i)) ? data.names[i] + " = " + data.labels[i][p] : null)
      .filter(x => x !== null);
    return parts.length ? data.title + ": " + parts.join(", ") : data.title;
  };
  // ▶ steps a slider through its pre-rendered positions (from the start if it is at its end); ■ stops it.
  const playButton = (button, el) => {
    let timer = null;
    const stop = () => { clearInterval(timer); timer = null; button.textContent = "▶"; button.classList.remove("sp-playing"); };
    const step = () => {
      if (el.disabled || Number(el.value) >= Number(el.max)) return stop();
      el.value = String(Number(el.value) + 1);
      el.dispatchEvent(new Event("input", {bubbles: true}));
      if (Number(el.value) >= Number(el.max)) stop();
    };
    button.addEventListener("click", () => {
      if (timer !== null) return stop();
      if (Number(el.value) >= Number(el.max)) { el.value = el.min; el.dispatchEvent(new Event("input", {bubbles: true})); }
      button.textContent = "■"; button.classList.add("sp-playing");  // (a phone's fonts may lack ⏸)
      timer = setInterval(step, Number(button.dataset.interval) || 300);
    });
    el.addEventListener("pointerdown", () => { if (timer !== null) stop(); });
  };
  document.querySelectorAll(".static-panel").forEach(setup);
})();

// Wide tables and formulas scroll sideways on a small screen: one wider than its box fades out at the edge that
// has more, with a hint above it.
function markScroll(box) {
  const wide = box.scrollWidth > box.clientWidth + 2;
  box.classList.toggle("sp-more", wide && box.scrollWidth - box.clientWidth - box.scrollLeft > 2);
  box.classList.toggle("sp-wide", wide);
  let hint = box.previousElementSibling;
  if (!(hint && hint.classList.contains("sp-scroll-hint"))) {
    if (!wide) return;
    hint = document.createElement(box.classList.contains("math-display") ? "span" : "div");
    hint.className = "sp-scroll-hint";
    hint.textContent = box.classList.contains("math-display") ? "← 左右滑动查看整个公式 · scroll sideways →"
      : "← 左右滑动查看整张表 · scroll sideways →";
    box.parentNode.insertBefore(hint, box);
  }
  hint.hidden = !wide;
}
(() => {
  const boxes = Array.from(document.querySelectorAll(".jp-RenderedHTMLCommon table, .sp-readout, .math-display"))
    .filter(box => box.classList.contains("sp-readout") || !box.closest(".sp-readout"));  // a readout scrolls as one
  for (const box of boxes) {
    box.classList.add("sp-scroller");
    box.addEventListener("scroll", () => markScroll(box), {passive: true});
    markScroll(box);
  }
  window.addEventListener("resize", () => boxes.forEach(markScroll));
})();
