// Console logs as people keep them: plain text, or compressed by the tool
// that rotated or exported them (gzip, xz, zstd: `journalctl` exports,
// `syslog.2.gz`), or saved as UTF-16 by a Windows editor.
//
// stream_log() hands the text on as UTF-8 in chunks, whatever the file
// holds: the compression is recognised by its magic bytes (so a compressed
// stream piped on standard input is read too), UTF-16 by its byte order mark
// or, without one, by the NUL byte beside every ASCII character. Memory stays
// bounded: nothing is decompressed ahead of what the reader took.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ktriage/error.h"
#include "support/io.h"

namespace ktriage::support {

struct LogStreamResult {
  uint64_t bytes = 0;      // bytes of text handed on (after decompression and decoding)
  std::string encoding;    // how the file was stored: "", "gzip", "xz", "zstd", "utf-16le", "gzip, utf-16le", ...
  std::string problem;     // the text ended early ("gzip data ends early"): what was read was handed on
};

// `chunk` gets the text; `progress` counts the file's bytes (compressed).
// Errors: the file cannot be read, or its compressed data is corrupt.
Expected<LogStreamResult> stream_log(const std::string& path, size_t chunk_size,
                                     const std::function<void(std::string_view, const StreamProgress&)>& chunk);

// The whole text of a log file, decoded as stream_log() does.
Expected<std::string> read_log(const std::string& path);

// The bytes of a file compressed with gzip, xz or zstd (known by its magic
// bytes; no text decoding), at most `limit` of them; nullopt when the file
// is not compressed, read no further than its first bytes. Kernel modules
// ship as .ko.xz and .ko.zst.
Expected<std::optional<std::string>> read_decompressed(const std::string& path, size_t limit);

}  // namespace ktriage::support
