// Package blockgz is the sidecar's archive compression: gzip that both ends can
// run on every CPU, and that every gzip reader still reads as ordinary gzip.
//
// # Members
//
// A stream is a sequence of independent gzip members, each holding at most
// BlockSize bytes of input and announcing its own total length (header, deflate
// data and trailer) in a gzip extra field: subfield "SP", 4 bytes,
// little-endian, the way BGZF does with its "BC" subfield. RFC 1952 allows
// members in sequence, so tar -xzf, gunzip or a browser read such a stream as
// one. Independent members cost almost nothing in size, since deflate only
// looks 32 KiB back (on text, half a percent against one stream at the same
// level: BenchmarkTextLevels), and they let Writer compress several at once and Reader
// find the next member from the length alone and decompress several at once:
// decompression is what limits a restore, and a single gzip stream can only be
// decoded on one core. Reader checks every member's CRC-32 and size, and reads
// gzip that is not in this form (an archive made by plain gzip, or plain members
// after these) sequentially.
//
// # Stored blocks
//
// Most of a game world is already compressed: Minecraft's region files are zlib
// chunks, each padded with zeros to a 4 KiB sector, and jars and gzipped logs are
// compressed too. A general deflate encoder spends nearly all its time on such
// bytes, searching for matches that are not there and then Huffman-coding
// literals that shrink by a fraction of a percent, and its output makes the
// decoder decode every byte through a Huffman table.
//
// So each member's encoder looks at every 16 KiB piece of its input first. Where
// the bytes outside runs of one repeated value look random (their sampled
// entropy is close to 8 bits a byte), it writes them as stored blocks, which
// cost a copy to write and to read, and each run (the sector padding) as a tiny
// fixed-Huffman block of one literal and back-references. Everything else (text,
// configs, uncompressed data) goes to a flate encoder at the configured level,
// which is therefore spent only where it shrinks something: text needs level 6
// to come within a few percent of gzip -6's size, and on a game world little
// reaches it.
// The result is ordinary deflate; on game data it is as small as level 1's
// output, since the zero padding is the only redundancy level 1 finds there, and
// much faster to make and to read.
package blockgz
