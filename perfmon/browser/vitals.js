// perfmon's in-page collector, injected before any page script runs (add_init_script).
// Web Vitals follow the semantics of Google's web-vitals library:
//  LCP  last largest-contentful-paint candidate before the first input or the page is hidden
//  FCP  first-contentful-paint
//  CLS  largest session window: shifts < 1 s apart, window <= 5 s, shifts after recent input excluded
//  INP  over Event Timing entries grouped by interactionId (longest entry per interaction):
//       the worst for <= 50 interactions, above that roughly the 98th percentile
//  TTFB responseStart of the navigation
// All times are relative to activationStart (prerendered pages) and never negative.
// Soft navigations (an SPA's pushState/replaceState/back to another path) do not start a new
// visit: as web-vitals does by default, the numbers stay with the document, which is labelled
// by the URL it was loaded at; the route changes since are counted.
(() => {
  if (window.__perfmon) return;
  const docId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const landing = location.href;
  const route = () => location.pathname + location.search;
  let lastRoute = route();
  let softNavigations = 0;
  if (window.navigation && window.navigation.addEventListener) {
    // Same-document navigations; a change of the #fragment alone is not a route.
    window.navigation.addEventListener("currententrychange", () => {
      if (route() !== lastRoute) { lastRoute = route(); softNavigations += 1; }
    });
  }
  const nav = () => performance.getEntriesByType("navigation")[0];
  const activation = () => (nav() && nav().activationStart) || 0;
  const rel = (t) => Math.max(0, t - activation());
  const st = {
    lcp: null, lcpStopped: false, fcp: null,
    cls: 0, win: 0, winStart: 0, winLast: 0,
    interactions: new Map(), interactionCount: 0,
    longTasks: 0, tbt: 0, reported: false,
  };
  const observe = (type, cb, extra) => {
    try {
      const po = new PerformanceObserver((list) => list.getEntries().forEach(cb));
      po.observe(Object.assign({ type: type, buffered: true }, extra || {}));
      return po;
    } catch (e) { return null; }
  };
  observe("paint", (e) => { if (e.name === "first-contentful-paint") st.fcp = rel(e.startTime); });
  const lcpObserver = observe("largest-contentful-paint", (e) => { if (!st.lcpStopped) st.lcp = rel(e.startTime); });
  const stopLcp = () => {
    if (st.lcpStopped) return;
    if (lcpObserver) lcpObserver.takeRecords().forEach((e) => { st.lcp = rel(e.startTime); });
    st.lcpStopped = true;
  };
  ["keydown", "click", "pointerdown"].forEach((t) => addEventListener(t, stopLcp, { once: true, capture: true }));
  observe("layout-shift", (e) => {
    if (e.hadRecentInput) return;
    if (st.win && e.startTime - st.winLast < 1000 && e.startTime - st.winStart < 5000) {
      st.win += e.value;
    } else {
      st.win = e.value;
      st.winStart = e.startTime;
    }
    st.winLast = e.startTime;
    if (st.win > st.cls) st.cls = st.win;
  });
  // first-input is always reported, whatever its duration, so a page whose interactions were all
  // fast still gets an INP (web-vitals does the same); it shares its interactionId with its event.
  const onEvent = (e) => {
    const id = e.interactionId || (e.entryType === "first-input" ? "first-input" : 0);
    if (!id) return;
    const prev = st.interactions.get(id);
    if (prev === undefined) st.interactionCount += 1;
    if (prev === undefined || e.duration > prev) st.interactions.set(id, e.duration);
  };
  const eventObservers = [
    observe("event", onEvent, { durationThreshold: 16 }),
    observe("first-input", onEvent),
  ];
  observe("longtask", (e) => { st.longTasks += 1; st.tbt += Math.max(0, e.duration - 50); });

  const inp = () => {
    const all = Array.from(st.interactions.values()).sort((a, b) => b - a);
    if (!all.length) return null;
    const count = performance.interactionCount || st.interactionCount;
    return all[Math.min(all.length - 1, Math.floor(count / 50))];
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
  const finalize = () => {
    stopLcp();
    // Entries not yet delivered to the callbacks (the last interaction's, typically).
    eventObservers.forEach((po) => { if (po) po.takeRecords().forEach(onEvent); });
    const n = nav();
    return {
      docId: docId,
      // Epoch ms: when the visit started (activation, for a prerendered page) and when it was read,
      // so each number can be matched with the client's state over its own interval.
      origin: performance.timeOrigin + activation(),
      ended: performance.timeOrigin + performance.now(),
      url: landing,
      softNavigations: softNavigations,
      title: document.title,
      vitals: { LCP: st.lcp, FCP: st.fcp, CLS: st.cls, INP: inp(), TTFB: n ? rel(n.responseStart) : null },
      navigation: navigation(),
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
    if (st.reported) return;
    st.reported = true;
    try {
      const list = JSON.parse(sessionStorage.getItem(PENDING) || "[]");
      list.push(finalize());
      sessionStorage.setItem(PENDING, JSON.stringify(list));
    } catch (e) { /* storage full or disabled: this visit is lost, the next is not */ }
  };
  addEventListener("pagehide", park, { capture: true });
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
    const current = st.reported ? null : finalize();
    st.reported = true;
    return { current: current, pending: takePending() };
  };
  window.__perfmon = { finalize: finalize, collect: collect, docId: docId };
})();
