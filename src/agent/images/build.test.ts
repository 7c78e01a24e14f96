// The image builder: ustar output readable by tar(1), reproducible digests, and a
// docker-archive layout (manifest.json → config → layer) with matching diff_ids.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxImage, buildNodeImages, dockerArchive, tarArchive, BUSYBOX_IMAGE, PAUSE_IMAGE } from "./build.js";

const hasTar = existsSync("/bin/tar") || existsSync("/usr/bin/tar");

test("tarArchive writes ustar that tar(1) lists", { skip: hasTar ? false : "tar not installed" }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "tugtar-"));
  try {
    const long = `${"d".repeat(60)}/${"e".repeat(60)}/file.txt`; // > 100 bytes: uses the prefix field
    const tar = tarArchive([
      { type: "dir", path: "bin" },
      { type: "file", path: "bin/hello", data: Buffer.from("hi\n"), mode: 0o755 },
      { type: "symlink", path: "bin/sh", target: "hello" },
      { type: "file", path: long, data: Buffer.alloc(513, 1) },
    ]);
    assert.equal(tar.length % 512, 0);
    await writeFile(join(dir, "x.tar"), tar);
    const listing = execFileSync("tar", ["-tvf", join(dir, "x.tar")], { encoding: "utf8" });
    assert.match(listing, /drwxr-xr-x .* bin\//);
    assert.match(listing, /-rwxr-xr-x .* 3 .* bin\/hello/);
    assert.match(listing, /bin\/sh -> hello/);
    assert.ok(listing.includes(long));
    execFileSync("tar", ["-xf", join(dir, "x.tar"), "-C", dir]);
    assert.equal(await readFile(join(dir, "bin/hello"), "utf8"), "hi\n");
    assert.equal((await readFile(join(dir, long))).length, 513);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("dockerArchive is reproducible and self-consistent", () => {
  const def = { name: "tugboat/t:1", entries: [{ type: "file" as const, path: "a", data: Buffer.from("a") }], cmd: ["/a"] };
  const one = dockerArchive(def);
  const two = dockerArchive(def);
  assert.equal(one.id, two.id);
  assert.ok(one.archive.equals(two.archive));
  assert.match(one.id, /^sha256:[0-9a-f]{64}$/);
  const layer = tarArchive(def.entries);
  assert.equal(one.diffId, `sha256:${createHash("sha256").update(layer).digest("hex")}`);
});

test("node images contain busybox applets and a pause binary", { skip: existsSync("/bin/busybox") ? false : "busybox-static not installed" }, async () => {
  const def = busyboxImage();
  const links = new Set(def.entries.filter((e) => e.type === "symlink").map((e) => e.path));
  for (const applet of ["sh", "httpd", "wget", "sleep", "cat", "echo", "nc", "env", "ls", "head", "tr"]) assert.ok(links.has(`bin/${applet}`), applet);
  const dir = await mkdtemp(join(tmpdir(), "tugimg-"));
  try {
    const built = await buildNodeImages(dir);
    assert.equal(built.busybox.name, BUSYBOX_IMAGE);
    assert.equal(built.pause.name, PAUSE_IMAGE);
    if (hasTar) {
      const out = execFileSync("tar", ["-xOf", built.busybox.file, "manifest.json"], { encoding: "utf8" });
      const manifest = JSON.parse(out) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
      assert.deepEqual(manifest[0]!.RepoTags, [BUSYBOX_IMAGE]);
      const config = JSON.parse(execFileSync("tar", ["-xOf", built.busybox.file, manifest[0]!.Config], { encoding: "utf8" }));
      assert.deepEqual(config.rootfs.diff_ids, [built.busybox.diffId]);
      assert.equal(`sha256:${manifest[0]!.Config.replace(".json", "")}`, built.busybox.id);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
