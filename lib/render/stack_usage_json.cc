#include "render/stack_usage_json.h"

namespace ktriage::render {

nlohmann::ordered_json stack_usage_json(const ReportDetails& details) {
  using Json = nlohmann::ordered_json;
  if (!details.stack_usage) return Json(nullptr);
  const StackUsage& u = *details.stack_usage;
  Json frames = Json::array();
  for (const FrameStackUsage& f : u.frames) {
    frames.push_back(Json{{"index", f.index ? Json(*f.index) : Json(nullptr)},
                          {"function", f.function},
                          {"module", f.module},
                          {"bytes", f.measured() ? Json(f.bytes) : Json(nullptr)},
                          {"method", f.measured() ? Json(f.method) : Json(nullptr)},
                          {"note", f.note.empty() ? Json(nullptr) : Json(f.note)}});
  }
  return Json{{"total", u.total},
              {"thread_size", u.thread_size ? Json(*u.thread_size) : Json(nullptr)},
              {"thread_size_assumption", u.thread_size_assumption},
              {"stack", u.stack},
              {"measured", u.measured},
              {"unmeasured", u.unmeasured},
              {"skipped", u.skipped},
              {"frames", frames}};
}

}  // namespace ktriage::render
