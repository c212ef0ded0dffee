// The flame graph's script. State lives in one `fg` object: every frame's original
// geometry is read once at load, so zooming recomputes positions from the originals
// instead of accumulating rounding. Labels are re-truncated with the writer's rule.
#include "flamegraph/svg_script.hpp"

namespace kperf::fg {

namespace {

constexpr std::string_view kScript = R"JS(
"use strict";
var fg = null;

function init(evt) {
  var doc = document;
  fg = {
    svg: doc.documentElement,
    details: doc.getElementById("details").firstChild,
    unzoomBtn: doc.getElementById("unzoom"),
    searchBtn: doc.getElementById("search"),
    caseBtn: doc.getElementById("ignorecase"),
    matchedText: doc.getElementById("matched"),
    frames: [],
    byGroup: new Map(),
    zoomed: null,
    root: null,
    term: null,
    ignoreCase: false
  };
  var groups = doc.getElementById("frames").children;
  for (var i = 0; i < groups.length; i++) {
    var g = groups[i];
    var rect = g.getElementsByTagName("rect")[0];
    var text = g.getElementsByTagName("text")[0];
    var titleEl = g.getElementsByTagName("title")[0];
    if (!rect || !text || !titleEl) continue;
    var title = titleEl.textContent;
    var cut = title.lastIndexOf(" (");
    var f = {
      g: g, rect: rect, text: text, title: title,
      name: cut >= 0 ? title.substring(0, cut) : title,
      xAttr: rect.getAttribute("x"), yAttr: rect.getAttribute("y"),
      x: parseFloat(rect.getAttribute("x")),
      y: parseFloat(rect.getAttribute("y")),
      w: parseFloat(rect.getAttribute("width")),
      fill: rect.getAttribute("fill")
    };
    fg.frames.push(f);
    fg.byGroup.set(g, f);
    if (!fg.root || f.w > fg.root.w) fg.root = f;
  }

  doc.getElementById("frames").addEventListener("click", function (e) {
    var f = frameOf(e.target);
    if (!f) return;
    e.preventDefault();
    if (f === fg.root) resetZoom(); else zoom(f);
  });
  fg.unzoomBtn.addEventListener("click", function () { resetZoom(); });
  fg.searchBtn.addEventListener("click", function () { searchPrompt(); });
  fg.caseBtn.addEventListener("click", function () { toggleCase(); });
  doc.getElementById("frames").addEventListener("mouseover", function (e) {
    var f = frameOf(e.target);
    if (f) fg.details.nodeValue = fgConfig.nameType + " " + f.title;
  });
  doc.getElementById("frames").addEventListener("mouseout", function (e) {
    if (frameOf(e.target)) fg.details.nodeValue = " ";
  });
  window.addEventListener("keydown", function (e) {
    var key = e.key || "";
    if (key === "F3" || (e.ctrlKey && (key === "f" || key === "F"))) {
      e.preventDefault();
      searchPrompt();
    } else if (e.ctrlKey && (key === "i" || key === "I")) {
      e.preventDefault();
      toggleCase();
    }
  });

  // Restore the state saved in the URL: ?x=..&y=.. (zoomed frame), &s=.. (search).
  var params = new URLSearchParams(window.location.search);
  if (params.has("x") && params.has("y")) {
    for (var k = 0; k < fg.frames.length; k++) {
      var c = fg.frames[k];
      if (c.xAttr === params.get("x") && c.yAttr === params.get("y")) {
        if (c !== fg.root) zoom(c);
        break;
      }
    }
  }
  if (params.get("s")) search(params.get("s"));
}

function frameOf(node) {
  while (node && node.parentNode) {
    if (node.parentNode.id === "frames") return fg.byGroup.get(node) || null;
    node = node.parentNode;
  }
  return null;
}

function setParam(key, value) {
  try {
    var url = new URL(window.location.href);
    if (value === null) url.searchParams.delete(key); else url.searchParams.set(key, value);
    window.history.replaceState(null, "", url.toString());
  } catch (err) {
    // Embedded (e.g. <img>) or sandboxed: no URL state, everything else still works.
  }
}

// The label that fits `width` pixels: the writer's rule, "..". marks a cut.
function labelFor(name, width) {
  var chars = Math.floor(width / (fgConfig.fontSize * fgConfig.fontWidth));
  if (chars < 3) return "";
  if (name.length <= chars) return name;
  return name.substring(0, chars - 2) + "..";
}

function place(f, x, w) {
  f.rect.setAttribute("x", x.toFixed(1));
  f.rect.setAttribute("width", w.toFixed(1));
  f.text.setAttribute("x", (x + 3).toFixed(2));
  f.text.textContent = f === fg.root ? "" : labelFor(f.name, w);
}

function isBelow(f, ref) {
  return fgConfig.inverted ? f.y < ref.y : f.y > ref.y;
}

function zoom(target) {
  var full = fgConfig.width - 2 * fgConfig.xpad;
  var ratio = full / target.w;
  var x0 = target.x, x1 = target.x + target.w, eps = 0.01;
  for (var i = 0; i < fg.frames.length; i++) {
    var f = fg.frames[i];
    var cls = f.g.classList;
    if (isBelow(f, target)) {
      if (f.x <= x0 + eps && f.x + f.w >= x1 - eps) {
        cls.remove("hide");
        cls.add("parent");
        place(f, fgConfig.xpad, full);
      } else {
        cls.add("hide");
      }
    } else if (f.x >= x0 - eps && f.x < x1 - eps) {
      cls.remove("hide");
      cls.remove("parent");
      place(f, fgConfig.xpad + (f.x - x0) * ratio, f.w * ratio);
    } else {
      cls.add("hide");
    }
  }
  fg.zoomed = target;
  fg.unzoomBtn.classList.remove("hide");
  setParam("x", target.xAttr);
  setParam("y", target.yAttr);
  if (fg.term !== null) search(fg.term);
}

function resetZoom() {
  for (var i = 0; i < fg.frames.length; i++) {
    var f = fg.frames[i];
    f.g.classList.remove("hide");
    f.g.classList.remove("parent");
    place(f, f.x, f.w);
  }
  fg.zoomed = null;
  fg.unzoomBtn.classList.add("hide");
  setParam("x", null);
  setParam("y", null);
  if (fg.term !== null) search(fg.term);
}

function searchPrompt() {
  if (fg.term !== null) {
    resetSearch();
    return;
  }
  var term = window.prompt("Search frames (a regular expression, e.g. ^ngx_http_)" +
      (fg.ignoreCase ? ", ignoring case" : "") +
      "\nCtrl-I toggles case sensitivity", "");
  if (term) search(term);
}

function toggleCase() {
  fg.ignoreCase = !fg.ignoreCase;
  if (fg.ignoreCase) fg.caseBtn.classList.add("show"); else fg.caseBtn.classList.remove("show");
  if (fg.term !== null) search(fg.term);
}

function resetSearch() {
  for (var i = 0; i < fg.frames.length; i++) {
    fg.frames[i].rect.setAttribute("fill", fg.frames[i].fill);
  }
  fg.term = null;
  fg.searchBtn.classList.remove("show");
  fg.searchBtn.firstChild.nodeValue = "Search";
  fg.matchedText.classList.add("hide");
  fg.matchedText.firstChild.nodeValue = " ";
  setParam("s", null);
}

// Highlights the frames whose name matches; "Matched" is the share of the displayed
// graph (the zoomed frame, else everything) covered by matching frames, each sample
// counted once however many of its frames match.
function search(term) {
  var re;
  try {
    re = new RegExp(term, fg.ignoreCase ? "i" : "");
  } catch (err) {
    fg.matchedText.classList.remove("hide");
    fg.matchedText.firstChild.nodeValue = "Invalid regex";
    return;
  }
  fg.term = term;
  var view = fg.zoomed || fg.root;
  var lo = view ? view.x : 0, hi = view ? view.x + view.w : 0;
  var spans = [];
  for (var i = 0; i < fg.frames.length; i++) {
    var f = fg.frames[i];
    if (re.test(f.name)) {
      f.rect.setAttribute("fill", fgConfig.searchColor);
      if (f.g.classList.contains("hide")) continue;
      var a = Math.max(f.x, lo), b = Math.min(f.x + f.w, hi);
      if (b > a) spans.push([a, b]);
    } else {
      f.rect.setAttribute("fill", f.fill);
    }
  }
  spans.sort(function (p, q) { return p[0] - q[0]; });
  var covered = 0, end = -Infinity;
  for (var j = 0; j < spans.length; j++) {
    var s = spans[j];
    if (s[1] <= end) continue;
    covered += s[1] - Math.max(s[0], end);
    end = s[1];
  }
  var pct = hi > lo ? 100 * covered / (hi - lo) : 0;
  var shown = Math.abs(pct - 100) < 1e-9 ? "100" : pct.toFixed(1);
  fg.searchBtn.classList.add("show");
  fg.searchBtn.firstChild.nodeValue = "Reset Search";
  fg.matchedText.classList.remove("hide");
  fg.matchedText.firstChild.nodeValue = "Matched: " + shown + "%";
  setParam("s", term);
}
)JS";

}  // namespace

std::string_view svg_script() { return kScript; }

}  // namespace kperf::fg
