// Renderers for the fleet commands: `bucket`, `ingest` and `query`, as text
// tables and as the JSON documented in docs/json.md ("Buckets", "Ingest",
// "Query"). Like every renderer they format and compute nothing.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "ktriage/bucket.h"
#include "ktriage/ingest.h"
#include "ktriage/render.h"
#include "ktriage/store.h"

namespace ktriage {

// `ktriage bucket`; `sources` are the inputs as given (ReportRef::source
// indexes them).
void render_buckets_json(const std::vector<Bucket>& buckets, const std::vector<std::string>& sources,
                         std::ostream& out);
void render_buckets_text(const std::vector<Bucket>& buckets, const std::vector<std::string>& sources,
                         const RenderOptions& options, std::ostream& out);

// `ktriage ingest`: one line per committed report, then a summary.
void render_ingested_json(const IngestedReport& report, std::ostream& out);
void render_ingested_text(const IngestedReport& report, std::ostream& out);
void render_ingest_summary_json(const IngestSummary& summary, const std::string& database, std::ostream& out);
void render_ingest_summary_text(const IngestSummary& summary, const std::string& database, std::ostream& out);

// `ktriage query`.
void render_stored_buckets_json(const std::vector<store::BucketSummary>& buckets, std::ostream& out);
void render_stored_buckets_text(const std::vector<store::BucketSummary>& buckets, const RenderOptions& options,
                                std::ostream& out);
void render_bucket_detail_json(const store::BucketDetail& bucket, std::ostream& out);
void render_bucket_detail_text(const store::BucketDetail& bucket, const RenderOptions& options, std::ostream& out);
// `analysis`: the report's, computed on read (analyze_stored); null if none.
void render_report_record_json(const store::ReportRecord& report, const Analysis* analysis, std::ostream& out);
void render_report_record_text(const store::ReportRecord& report, const RenderOptions& options, std::ostream& out);
void render_hosts_json(const std::vector<store::HostSummary>& hosts, std::ostream& out);
void render_hosts_text(const std::vector<store::HostSummary>& hosts, const RenderOptions& options, std::ostream& out);

}  // namespace ktriage
