// Package server is the FileIO sidecar: the gRPC server of package sidecarpb that
// runs in the game-server pod beside the game server and is the only thing that
// touches the customer's files. The backup service reaches it through the client
// in package sidecar; the examples/sidecar command wraps it in a binary.
//
// New builds a server from Options whose zero value (plus a Secret) is the
// production default: roots /data and /tmp, state directory
// /var/lib/savepoint-sidecar, the caps of DefaultLimits. The server refuses every
// call that does not carry the secret (Unauthenticated; the standard health
// service stays open for probes), reaches nothing outside its roots
// (PermissionDenied), opens every path through os.Root so symbolic links cannot
// lead out of a root, and:
//
//   - compresses on every CPU; archives are standard tar.gz made of independent
//     gzip members that announce their length (like BGZF), so that extraction can
//     decompress on every CPU too; bytes that are already compressed (most of a
//     game world) are stored rather than deflated again, and runs of one byte value
//     become back-references, which makes both ends several times faster;
//   - archives every file, directory and symbolic link it can read, whatever its
//     name, and stores links as links with their targets exactly as they are
//     (shared mod folders, absolute links into another volume), wherever they
//     point;
//   - leaves out of an archive what gitignore-style patterns exclude (see package
//     exclude): those of the .savepointignore file at the top of each source
//     directory, which is itself archived, then the request's. The walk never
//     enters an excluded directory, and the progress total leaves excluded files
//     out. A pattern set over its limits or not valid syntax is refused with
//     InvalidArgument, before anything is written, and the report lists the
//     patterns that applied;
//   - reports what each archive holds and what it could not hold faithfully:
//     unreadable files and directories, sockets, devices and FIFOs, and files that
//     changed while they were read (one that shrank is padded with zeros, since tar
//     needs the declared size). The list is capped at ports.MaxSkippedListed, the
//     count is complete, and paths are relative to the archived source, valid
//     UTF-8 and bounded in length. CompressFiles returns the report, and
//     StreamArchive sends it with its last message. An error that does fail an
//     archive names the source path that failed;
//   - streams files in fixed-size chunks in both directions, writing to a temporary
//     name that is renamed into place only when the write is complete (and made
//     durable first, except for the archives staged in ArchiveDir for a restore);
//   - extracts archives into a staging directory inside the destination, under the
//     rules of Extract (no entry is ever written through a symbolic link, though
//     links themselves are restored wherever they point), and swaps the result in
//     only when the whole archive was accepted, so a rejected archive leaves the
//     destination untouched. Extractions into one directory are serialised by the
//     directory's identity, whatever path names it. RestoreArchive extracts an
//     archive while it arrives, hashing every byte, and swaps it in only if its
//     size and SHA-256 are the ones the caller recorded (DataLoss otherwise): a
//     verified restore in one pass, with nothing staged in ArchiveDir. With keep
//     patterns (a backup's excludes), the current paths they match are carried
//     over into the staged tree before the swap (files hard-linked, a kept
//     directory whole), so that what the backup left out survives the restore;
//     where the archive holds a kept path too, the current one wins. The
//     previous contents are removed after the swap, files unlinked in parallel;
//   - reports a streamed archive's progress with every chunk: the bytes of file
//     contents archived so far and the total, measured by a walk beside the
//     archiving (one lstat per file, no reads);
//   - pauses the game's writes while an archive that asks for it is read, by the
//     method the sidecar is configured with (Options.Quiescer: ExecHook, or RCON
//     from package rcon; never sent by the caller), and reports the method, how
//     long the game was paused and any failure. Archives running at once share one
//     pause: the first pauses, the last resumes. The resume always runs, after a
//     failed or cancelled archive too, and, since a marker in the state directory
//     records it before each pause, after the server was killed while the game
//     was paused, when it starts again;
//   - refuses a caller's mistakes (extracting into a file, or an archive that lies
//     inside its destination; writing over a directory; reading a socket) with
//     InvalidArgument or FailedPrecondition, naming the caller's path.
//
// # Journal
//
// A customer can give a file any name, so the server never recognises its own
// temporary files by their names. Before it creates one in a root (a file being
// written, an extraction's staging, old and new directories) it records a journal
// entry in the state directory (Options.StateDir, outside every root and locked by
// one server at a time): the root, the directory and its device and inode, the
// entity's exact name and, once it exists, its own device and inode. The entry is
// deleted once the entity is committed or removed. Archives leave out only the
// entities of calls running now, and a swap moves every other entry.
//
// When the server starts it settles every entry (the process that wrote it is
// dead): temporary files are removed wherever they are, an extraction past its
// commit point is completed and an earlier one rolled back. An extraction first
// settles the entries of its destination that no running call owns. Recovery only
// touches a file whose device and inode are the ones recorded, so a customer's
// file that carries the same name is left alone. It also removes the staged
// archives in ArchiveDir (backup-<uuid>.tar.gz, restore-<uuid>.tar.gz, exactly).
//
// The server never deletes what it has no record of: after the pod is recreated
// with a new, empty state directory, what a killed restore or upload left in the
// data directory stays there as ordinary files. So the state directory should live
// as long as the data volume, for example a subPath of that volume mounted outside
// the data directory.
package server
