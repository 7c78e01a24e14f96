import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterFlags, clusterOptions, parseGoDuration } from "./clusterflags.js";
import { parseFlags, UsageError } from "./flags.js";

const parse = (...argv: string[]) => clusterOptions(parseFlags(argv, clusterFlags).values);

test("defaults: k3s ranges, 20 s grace, 30 s tolerations", () => {
  assert.deepEqual(parse(), {
    serviceCIDR: "10.43.0.0/16",
    clusterCIDR: "10.42.0.0/16",
    nodePortMin: 30000,
    nodePortMax: 32767,
    nodeMonitorGracePeriodMs: 20_000,
    defaultNotReadyTolerationSeconds: 30,
    defaultUnreachableTolerationSeconds: 30,
  });
  // Values missing altogether (a caller that did not run parseFlags) get the defaults too.
  assert.equal(clusterOptions({}).serviceCIDR, "10.43.0.0/16");
});

test("every flag is read", () => {
  const o = parse(
    "--service-cidr", "10.45.0.0/16",
    "--cluster-cidr=10.47.0.0/16",
    "--service-node-port-range", "31000-31999",
    "--node-monitor-grace-period", "1m30s",
    "--default-not-ready-toleration-seconds", "0",
    "--default-unreachable-toleration-seconds", "300",
  );
  assert.deepEqual(o, {
    serviceCIDR: "10.45.0.0/16",
    clusterCIDR: "10.47.0.0/16",
    nodePortMin: 31000,
    nodePortMax: 31999,
    nodeMonitorGracePeriodMs: 90_000,
    defaultNotReadyTolerationSeconds: 0,
    defaultUnreachableTolerationSeconds: 300,
  });
});

test("Go durations", () => {
  assert.equal(parseGoDuration("20s"), 20_000);
  assert.equal(parseGoDuration("500ms"), 500);
  assert.equal(parseGoDuration("1h2m3s"), 3_723_000);
  assert.equal(parseGoDuration("1.5s"), 1500);
  for (const bad of ["", "20", "s", "-5s", "5 s", "5d"]) assert.equal(parseGoDuration(bad), undefined, bad);
});

test("bad values are usage errors naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--service-cidr", "10.43.0.0"], /--service-cidr must be an IPv4 CIDR/],
    [["--service-cidr", "fd00::/108"], /--service-cidr must be an IPv4 CIDR/],
    [["--service-cidr", "10.43.1.0/16"], /--service-cidr 10\.43\.1\.0\/16 has host bits set; did you mean 10\.43\.0\.0\/16/],
    [["--service-cidr", "10.0.0.0/8"], /--service-cidr prefix must be between \/12 and \/28/],
    [["--service-cidr", "10.43.0.0/29"], /--service-cidr prefix must be between/],
    [["--cluster-cidr", "10.42.0.0/25"], /--cluster-cidr prefix must be between \/8 and \/24/],
    [["--cluster-cidr", "300.42.0.0/16"], /--cluster-cidr must be an IPv4 CIDR/],
    [["--service-cidr", "10.42.128.0/20"], /--service-cidr 10\.42\.128\.0\/20 overlaps --cluster-cidr 10\.42\.0\.0\/16/],
    [["--cluster-cidr", "10.0.0.0/8"], /overlaps --cluster-cidr 10\.0\.0\.0\/8/],
    [["--service-node-port-range", "32767-30000"], /--service-node-port-range must be MIN-MAX/],
    [["--service-node-port-range", "0-100"], /--service-node-port-range/],
    [["--service-node-port-range", "30000-70000"], /--service-node-port-range/],
    [["--service-node-port-range", "30000"], /--service-node-port-range/],
    [["--node-monitor-grace-period", "20"], /--node-monitor-grace-period must be a duration/],
    [["--node-monitor-grace-period", "500ms"], /at least 1s/],
    [["--default-not-ready-toleration-seconds", "-1"], /--default-not-ready-toleration-seconds must be a whole number/],
    [["--default-unreachable-toleration-seconds", "1.5"], /--default-unreachable-toleration-seconds must be a whole number/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parse(...argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(" "));
  }
});

test("a one-port range is allowed", () => {
  const o = parse("--service-node-port-range", "30080-30080");
  assert.equal(o.nodePortMin, 30080);
  assert.equal(o.nodePortMax, 30080);
});
