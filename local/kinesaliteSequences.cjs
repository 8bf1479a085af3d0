/*
 * kinesalite's sequence-number and hash-key arithmetic (its db module: parseSequence,
 * stringifySequence, incrementSequence, partitionKeyToHashKey) in JavaScript's native BigInt
 * instead of bignumber.js. The numbers are the same, digit for digit (test/kinesalite.test.ts
 * checks them against kinesalite's own functions); the base conversions bignumber.js does for
 * every record put and read were half of kinesalite's CPU in a local run. Anything the fast
 * path doesn't cover (an older sequence version, input that isn't plain digits) goes to
 * kinesalite's own function, so its answers and its errors stay its own.
 *
 * Plain JavaScript: it runs on kinesalite's worker thread, which has no TypeScript loader.
 */
"use strict";

const POW_2_124 = 2n ** 124n;
const POW_2_124_NEXT = 2n ** 125n * 16n;
const POW_2_185 = 2n ** 185n;
const POW_2_185_NEXT = 3n * 2n ** 184n; // 2^185 * 1.5
const DIGITS = /^\d+$/;
const HEX = /^[0-9a-f]+$/;

/** Patches kinesalite's db module (require("kinesalite/db")) in place; returns it. */
function fasterSequences(db) {
  if (db.fasterSequences) return db;
  const own = {
    parseSequence: db.parseSequence,
    stringifySequence: db.stringifySequence,
    partitionKeyToHashKey: db.partitionKeyToHashKey,
  };
  const crypto = require("node:crypto");

  db.parseSequence = function parseSequence(seq) {
    if (typeof seq !== "string" || !DIGITS.test(seq)) return own.parseSequence(seq);
    let n = BigInt(seq);
    if (n < POW_2_124) n += POW_2_124;
    const hex = n.toString(16);
    // Versions 0 and 1 (and unknown ones, which throw) stay kinesalite's.
    if (!(n > POW_2_185 && n < POW_2_185_NEXT) || n < POW_2_124_NEXT || hex[hex.length - 1] !== "2") return own.parseSequence(seq);
    const seqIxHex = hex.slice(11, 27);
    let shardIxHex = hex.slice(38, 46);
    if (parseInt(seqIxHex[0], 16) > 7) throw new Error("Sequence index too high");
    if (parseInt(shardIxHex[0], 16) > 7) shardIxHex = "-" + shardIxHex;
    const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
    if (shardCreateSecs >= 16025175000) throw new Error("Date too large: " + shardCreateSecs);
    return {
      shardCreateTime: shardCreateSecs * 1000,
      seqIx: BigInt("0x" + seqIxHex).toString(),
      byte1: hex.slice(27, 29),
      seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
      shardIx: parseInt(shardIxHex, 16),
      version: 2,
    };
  };

  db.stringifySequence = function stringifySequence(obj) {
    const seqIx = obj.seqIx || 0;
    const plain = (typeof seqIx === "number" && Number.isSafeInteger(seqIx) && seqIx >= 0) || (typeof seqIx === "string" && DIGITS.test(seqIx));
    if (!(obj.version == null || obj.version == 2) || !plain) return own.stringifySequence(obj);
    const hex = [
      "2",
      ("00000000" + Math.floor(obj.shardCreateTime / 1000).toString(16)).slice(-9),
      (obj.shardIx || 0).toString(16).slice(-1),
      ("0000000000000000" + BigInt(seqIx).toString(16)).slice(-16),
      obj.byte1 || "00",
      ("00000000" + Math.floor((obj.seqTime || obj.shardCreateTime) / 1000).toString(16)).slice(-9),
      db.shardIxToHex(obj.shardIx),
      "2",
    ].join("");
    return HEX.test(hex) ? BigInt("0x" + hex).toString() : own.stringifySequence(obj);
  };

  // kinesalite's own calls its module-local functions; this one calls the ones above.
  db.incrementSequence = function incrementSequence(seqObj, seqTime) {
    if (typeof seqObj == "string") seqObj = db.parseSequence(seqObj);
    return db.stringifySequence({
      shardCreateTime: seqObj.shardCreateTime,
      seqIx: seqObj.seqIx,
      seqTime: seqTime || seqObj.seqTime + 1000,
      shardIx: seqObj.shardIx,
    });
  };

  // Only ever compared with the shards' hash key range (decimal strings), as kinesalite does.
  db.partitionKeyToHashKey = function partitionKeyToHashKey(partitionKey) {
    const key = BigInt("0x" + crypto.createHash("md5").update(partitionKey, "utf8").digest("hex"));
    return {
      comparedTo(other) {
        if (typeof other !== "string" || !DIGITS.test(other)) return own.partitionKeyToHashKey(partitionKey).comparedTo(other);
        const b = BigInt(other);
        return key < b ? -1 : key > b ? 1 : 0;
      },
    };
  };

  db.fasterSequences = true;
  return db;
}

module.exports = { fasterSequences };
