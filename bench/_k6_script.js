// k6's side of bench/http_engine.py: every VU requests one URL without pause, or, with BENCH_RATE,
// an open model at that many requests a second.
import http from 'k6/http';

const params = __ENV.BENCH_TOKEN ? { headers: { Authorization: `Bearer ${__ENV.BENCH_TOKEN}` } } : {};

export const options = __ENV.BENCH_RATE ? {
  scenarios: {
    truth: {
      executor: 'constant-arrival-rate', rate: Number(__ENV.BENCH_RATE), timeUnit: '1s',
      duration: `${__ENV.BENCH_SECONDS}s`, preAllocatedVUs: Number(__ENV.BENCH_VUS),
    },
  },
} : {};

export default function () {
  http.get(__ENV.BENCH_URL, params);
}
