// perfmon's in-page collector, injected before any page script runs (add_init_script).
// Web Vitals follow the semantics of Google's web-vitals library (6.x, soft navigations on):
//  LCP  last largest-contentful-paint candidate before trusted input (keydown, click) or the page
//       is hidden; for a soft navigation, its interaction's largest contentful paint
//  FCP  first-contentful-paint; for a soft navigation, its paint after the navigation started
//  CLS  largest session window: shifts < 1 s apart, window <= 5 s, shifts after recent input excluded
//  INP  over Event Timing entries grouped by interactionId (longest entry per interaction):
//       the worst for <= 50 interactions, above that roughly the 98th percentile
//  TTFB responseStart of the navigation; 0 for a soft navigation or a back-forward-cache restore
// All times are relative to activationStart (prerendered pages) and never negative.
// A visit is the document's load, a restore from the back-forward cache, or a soft navigation
// (Chromium's soft-navigation entries: an SPA route change a user's input caused, which painted):
// each is reported on its own, and the one before it is finalized when it starts. Entries are
// handled in the order the browser queued them, in one observer, as web-vitals' are.
(() => {
  if (window.__perfmon) return;
  const newId = () => Math.random().toString(36).slice(2) + Date.now().toString(36);
  const nav = () => performance.getEntriesByType("navigation")[0];
  const activation = () => (nav() && nav().activationStart) || 0;
  const rel = (t) => Math.max(0, t - activation());
  const interactionCount = () => performance.interactionCount || 0;
  const route = () => location.pathname + location.search;

  const visit = {};  // id, url, type (null: the document's own, read when reported), start, softInteractionId
  const st = {};
  const begin = (type, url, start) => {
    Object.assign(visit, { id: newId(), url: url, type: type, start: start, softInteractionId: null,
                           route: route(), routeChanges: 0 });
    Object.assign(st, { lcp: null, lcpStopped: false, fcp: null, ttfb: null, cls: 0, clsSpan: null, win: 0,
                        winStart: 0, winLast: 0, interactions: new Map(), countAtStart: interactionCount(), seen: 0,
                        inputs: [], frames: [], longTasks: 0, tbt: 0, reported: false });
  };
  begin(null, location.href, 0);
  const finished = [];  // visits a soft navigation ended, not yet handed over

  if (window.navigation && window.navigation.addEventListener) {
    // Same-document route changes (a #fragment alone is not one), soft navigations or not.
    window.navigation.addEventListener("currententrychange", () => {
      if (route() !== visit.route) { visit.route = route(); visit.routeChanges += 1; }
    });
  }

  // first-input is always reported, whatever its duration, so a page whose interactions were all
  // fast still gets an INP (web-vitals does the same); it shares its interactionId with its event.
  const onEvent = (e) => {
    const id = e.interactionId || (e.entryType === "first-input" ? "first-input" : 0);
    if (!id) return;
    const prev = st.interactions.get(id);
    if (prev === undefined) st.seen += 1;
    if (prev === undefined || e.duration > prev.duration) {
      st.interactions.set(id, { duration: e.duration, start: e.startTime, name: e.name });
    }
  };
  const onShift = (e) => {
    if (e.hadRecentInput) return;
    if (st.win && e.startTime - st.winLast < 1000 && e.startTime - st.winStart < 5000) {
      st.win += e.value;
    } else {
      st.win = e.value;
      st.winStart = e.startTime;
    }
    st.winLast = e.startTime;
    if (st.win > st.cls) { st.cls = st.win; st.clsSpan = [st.winStart, st.winLast]; }
  };
  const onContentfulPaint = (e) => {
    if (st.lcpStopped) return;
    if (e.entryType === "largest-contentful-paint") {
      if (visit.type === null) st.lcp = rel(e.startTime);
    } else if (visit.type === "soft-navigation" && e.interactionId === visit.softInteractionId) {
      const paint = e.largestContentfulPaint;
      st.lcp = Math.max(((paint && paint.renderTime) || 0) - e.startTime, 0);
    }
  };
  const onSoftNavigation = (e) => {
    // Its URL change happened in the visit before (the entry comes after the paint): it is this visit's.
    if (visit.routeChanges > 0) visit.routeChanges -= 1;
    if (!st.reported) {
      st.reported = true;
      finished.push(finalize(false));
    }
    begin("soft-navigation", e.name, e.startTime);
    visit.softInteractionId = e.interactionId;
    st.ttfb = 0;
    st.fcp = Math.max((e.presentationTime || e.paintTime || 0) - e.startTime, 0);
    const largest = typeof e.getLargestInteractionContentfulPaint === "function"
      ? e.getLargestInteractionContentfulPaint() : null;
    if (largest) onContentfulPaint(largest);
  };
  const onFrame = (e) => {
    st.frames.push({
      start: e.startTime, end: e.startTime + e.duration, blocking: e.blockingDuration || 0,
      scripts: (e.scripts || []).map((x) => ({
        invoker: x.invoker, url: x.sourceURL, fn: x.sourceFunctionName, duration: x.duration,
      })),
    });
    if (st.frames.length > 100) st.frames.shift();
  };
  const handlers = {
    "event": onEvent, "first-input": onEvent, "layout-shift": onShift,
    "largest-contentful-paint": onContentfulPaint, "interaction-contentful-paint": onContentfulPaint,
    "soft-navigation": onSoftNavigation, "long-animation-frame": onFrame,
    "paint": (e) => { if (e.name === "first-contentful-paint" && visit.type === null) st.fcp = rel(e.startTime); },
    "longtask": (e) => { st.longTasks += 1; st.tbt += Math.max(0, e.duration - 50); },
  };
  const handle = (e) => { const h = handlers[e.entryType]; if (h) h(e); };
  let po = null;
  try { po = new PerformanceObserver((list) => list.getEntries().forEach(handle)); } catch (e) { po = null; }
  if (po) {
    Object.keys(handlers).forEach((type) => {
      try {
        // web-vitals' threshold (40 ms): a faster interaction is below any INP worth a verdict.
        po.observe(Object.assign({ type: type, buffered: true }, type === "event" ? { durationThreshold: 40 } : {}));
      } catch (e) { /* an entry type this browser lacks */ }
    });
  }
  // Entries queued but not yet delivered (the last interaction's, typically), in their order.
  const drain = () => { if (po) po.takeRecords().forEach(handle); };
  const stopLcp = (e) => {
    if (e && e.type !== "visibilitychange" && !e.isTrusted) return;  // scripted input does not end LCP
    st.lcpStopped = true;
  };
  ["keydown", "click", "visibilitychange"].forEach((t) => addEventListener(t, stopLcp, { capture: true }));
  // Input the page received, trusted (Playwright's, a person's) or not (element.click() from page
  // JavaScript, which Event Timing never reports): a step with only the latter has no INP to show.
  ["click", "keydown", "pointerdown"].forEach((t) => addEventListener(t, (e) => {
    if (st.inputs.length < 200) st.inputs.push({ t: performance.timeOrigin + e.timeStamp, trusted: e.isTrusted });
  }, { capture: true }));

  const inpEntry = () => {
    const all = Array.from(st.interactions.values()).sort((a, b) => b.duration - a.duration);
    const count = (interactionCount() - st.countAtStart) || st.seen;
    if (!all.length) {
      // web-vitals: interactions too fast to be reported after a soft navigation or a restore count as 8 ms.
      return count && visit.type !== null ? { duration: 8, start: visit.start, name: "" } : null;
    }
    return all[Math.min(all.length - 1, Math.floor(count / 50))];
  };
  // The long animation frames the INP interaction overlapped, worst blocking first, with the
  // scripts that ran in them (web-vitals' INP attribution reads the same entries).
  const inpAttribution = (entry) => {
    if (!entry || !entry.name) return null;
    const end = entry.start + entry.duration;
    const frames = st.frames.filter((f) => f.start < end && f.end > entry.start)
      .sort((a, b) => b.blocking - a.blocking);
    const scripts = [].concat(...frames.map((f) => f.scripts)).sort((a, b) => b.duration - a.duration).slice(0, 3);
    return { name: entry.name, duration: entry.duration, at: performance.timeOrigin + entry.start,
             blocking: frames.reduce((sum, f) => sum + f.blocking, 0), scripts: scripts };
  };
  const navigation = () => {
    const n = nav();
    if (!n) return null;
    const res = performance.getEntriesByType("resource");
    const slow = res.slice().sort((a, b) => b.duration - a.duration).slice(0, 5)
      .map((r) => ({ name: r.name, duration: r.duration, transferSize: r.transferSize, initiatorType: r.initiatorType }));
    return {
      redirect: n.redirectEnd - n.redirectStart,
      dns: n.domainLookupEnd - n.domainLookupStart,
      connect: n.connectEnd - n.connectStart,
      tls: n.secureConnectionStart > 0 ? n.connectEnd - n.secureConnectionStart : 0,
      ttfb: rel(n.responseStart),
      download: n.responseEnd - n.responseStart,
      dom_content_loaded: rel(n.domContentLoadedEventEnd),
      load: rel(n.loadEventEnd),
      transfer_size: n.transferSize,
      resources: { count: res.length, bytes: res.reduce((s, r) => s + (r.transferSize || 0), 0), slowest: slow },
    };
  };
  // web-vitals' navigation types: navigate, reload, back-forward, back-forward-cache, prerender,
  // soft-navigation.
  const navigationType = () => {
    if (visit.type !== null) return visit.type;
    if (document.prerendering || activation() > 0) return "prerender";
    const n = nav();
    return n ? n.type.replace(/_/g, "-") : "navigate";
  };
  const finalize = (drainFirst) => {
    if (drainFirst !== false) drain();
    stopLcp();
    const own = visit.type === null;
    const n = nav();
    const worst = inpEntry();
    return {
      docId: visit.id,
      // Epoch ms: when the visit started (activation, for a prerendered page) and when it was read,
      // so each number can be matched with the client's state over its own interval.
      origin: performance.timeOrigin + (own ? activation() : visit.start),
      ended: performance.timeOrigin + performance.now(),
      url: visit.url,
      navigationType: navigationType(),
      softNavigations: visit.routeChanges,
      title: document.title,
      vitals: { LCP: st.lcp, FCP: st.fcp, CLS: st.cls, INP: worst ? worst.duration : null,
                TTFB: own ? (n ? rel(n.responseStart) : null) : st.ttfb },
      // Epoch ms spans of what CLS and INP measured: the worst session window, the INP interaction.
      spans: {
        CLS: st.clsSpan ? [performance.timeOrigin + st.clsSpan[0], performance.timeOrigin + st.clsSpan[1]] : null,
        INP: worst && worst.name ? [performance.timeOrigin + worst.start,
                                    performance.timeOrigin + worst.start + worst.duration] : null,
      },
      interactions: Array.from(st.interactions.values()).slice(0, 200)
        .map((i) => ({ at: performance.timeOrigin + i.start, duration: i.duration })),
      inputs: st.inputs.slice(),
      inpAttribution: inpAttribution(worst),
      navigation: own ? navigation() : null,
      longTasks: st.longTasks,
      tbt: st.tbt,
    };
  };
  // A visit that ends by navigating away is parked in sessionStorage (a binding call made
  // during pagehide is not delivered) and handed over by the next collect() on this origin.
  const PENDING = "__perfmon_pending";
  const takePending = () => {
    try {
      const list = JSON.parse(sessionStorage.getItem(PENDING) || "[]");
      sessionStorage.removeItem(PENDING);
      return list;
    } catch (e) { return []; }
  };
  const park = () => {
    const ending = finished.splice(0);
    if (!st.reported) {
      st.reported = true;
      ending.push(finalize());
    }
    if (!ending.length) return;
    try {
      const list = JSON.parse(sessionStorage.getItem(PENDING) || "[]");
      sessionStorage.setItem(PENDING, JSON.stringify(list.concat(ending)));
    } catch (e) { /* storage full or disabled: these visits are lost, the next are not */ }
  };
  addEventListener("pagehide", park, { capture: true });
  // A page restored from the back-forward cache is a new visit of the same document (web-vitals
  // starts its metrics again): FCP and LCP are the time to the first frame after the restore.
  addEventListener("pageshow", (e) => {
    if (!e.persisted) return;
    begin("back-forward-cache", location.href, e.timeStamp);
    st.ttfb = 0;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      st.fcp = st.lcp = performance.now() - e.timeStamp;
      st.lcpStopped = true;
    }));
  }, { capture: true });
  // A page that has content but has not painted it yet is still loading (a saturated client
  // can lag seconds behind the DOM): wait for its first contentful paint, at most 10 s, so its
  // LCP and FCP are not ended before they exist.
  const unpainted = () => st.fcp === null && !performance.getEntriesByName("first-contentful-paint").length
    && document.visibilityState === "visible" && !!document.body
    && (document.images.length > 0 || document.body.innerText.trim() !== "");
  // Event Timing entries arrive after the next paint: wait two frames (or 200 ms when hidden)
  // before reading, as web-vitals waits for idle.
  const settle = () => new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    const frames = () => {
      requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(finish, 0)));
      setTimeout(finish, 200);
    };
    const waitForPaint = () => {
      if (unpainted() && performance.now() - started < 10000) setTimeout(waitForPaint, 50);
      else frames();
    };
    waitForPaint();
  });
  const collect = async () => {
    await settle();
    drain();
    const current = st.reported ? null : finalize();
    st.reported = true;
    return { current: current, pending: takePending().concat(finished.splice(0)) };
  };
  window.__perfmon = { finalize: finalize, collect: collect, docId: () => visit.id };
})();
