// Validates a JSON file against a JSON Schema (the draft-07 subset speedscope's
// file-format-schema.json uses: $ref, type, properties, required, const, enum, items,
// anyOf). usage: node validate_schema.js SCHEMA.json DATA.json
"use strict";
const fs = require("fs");
const schema = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const data = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));

function resolve(s) {
  while (s && s.$ref) {
    const parts = s.$ref.replace(/^#\//, "").split("/");
    s = parts.reduce((o, k) => o[k], schema);
  }
  return s;
}

function typeOk(t, v) {
  switch (t) {
    case "object": return v !== null && typeof v === "object" && !Array.isArray(v);
    case "array": return Array.isArray(v);
    case "string": return typeof v === "string";
    case "number": return typeof v === "number" && Number.isFinite(v);
    case "integer": return Number.isInteger(v);
    case "boolean": return typeof v === "boolean";
    default: throw new Error("unsupported type " + t);
  }
}

// Returns an error string, or null when `v` matches `s`.
function check(s, v, path) {
  s = resolve(s);
  const known = new Set(["$ref", "$schema", "definitions", "title", "type", "properties",
                         "required", "const", "enum", "items", "anyOf", "description"]);
  for (const k of Object.keys(s)) {
    if (!known.has(k)) throw new Error("unsupported schema keyword " + k + " at " + path);
  }
  if (s.anyOf) {
    const errs = s.anyOf.map((alt) => check(alt, v, path));
    if (errs.every((e) => e !== null)) return path + ": matches no alternative (" + errs.join("; ") + ")";
  }
  if (s.type && !typeOk(s.type, v)) return path + ": not a " + s.type;
  if ("const" in s && v !== s.const) return path + ": must be " + JSON.stringify(s.const);
  if (s.enum && !s.enum.includes(v)) return path + ": not one of " + s.enum.join(",");
  if (s.required) {
    for (const k of s.required) if (!(k in v)) return path + ": missing " + k;
  }
  if (s.properties) {
    for (const [k, sub] of Object.entries(s.properties)) {
      if (k in v) {
        const e = check(sub, v[k], path + "." + k);
        if (e) return e;
      }
    }
  }
  if (s.items && Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = check(s.items, v[i], path + "[" + i + "]");
      if (e) return e;
    }
  }
  return null;
}

const err = check(schema, data, "$");
if (err) {
  console.error("schema violation: " + err);
  process.exit(1);
}
// The schema does not say it, speedscope does: one weight per sample, frame indices valid.
for (const p of data.profiles) {
  if (p.type === "sampled") {
    if (p.samples.length !== p.weights.length) { console.error("samples/weights differ"); process.exit(1); }
    for (const s of p.samples) for (const f of s) {
      if (!(f >= 0 && f < data.shared.frames.length)) { console.error("bad frame index " + f); process.exit(1); }
    }
  }
}
console.log("valid: " + data.profiles.length + " profile(s), " + data.shared.frames.length + " frames");
