// The stack picture: the crashing task's frames stacked top (where the trace
// entered the stack) to bottom (the faulting function), each as tall as the
// stack-usage estimate measured it, inside a box of THREAD_SIZE; what lies
// past THREAD_SIZE is the overflow region, and thread_info is drawn at the
// bottom on kernels that keep it there. Without an estimate the frames are
// drawn by depth, all one height, and say that their size is unknown.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "render/display.h"
#include "render/html.h"

namespace ktriage::render {
namespace {

// Geometry, in SVG user units (CSS pixels at 100%).
constexpr double kWidth = 760;
constexpr double kColumnX = 260;
constexpr double kColumnW = 190;
constexpr double kTop = 34;
constexpr double kScaleHeight = 520;   // THREAD_SIZE (or the measured total) spans this
constexpr double kOverflowHeight = 34; // the region past THREAD_SIZE, at least
constexpr double kLabelGap = 13;       // between two labels on one side
constexpr double kThreadInfoHeight = 12;

std::string num(double v) { return fmt::format("{:.1f}", v); }

// A run of consecutive frames of one function: one label for all of them.
struct Group {
  std::string name;
  size_t count = 0;
  uint64_t bytes = 0;
  double y0 = 0, y1 = 0;
  bool ip = false;
};

// Labels to the right of the column, pushed down so none overlap; a label
// that would land far below its group is left out (its frames keep their
// tooltips).
void draw_labels(const std::vector<Group>& groups, bool sized, std::ostream& out) {
  double next = 0;
  for (const Group& g : groups) {
    const double mid = (g.y0 + g.y1) / 2;
    const double y = std::max(mid + 4, next);
    if (y > g.y1 + 3 * kLabelGap && !g.ip) continue;
    next = y + kLabelGap;
    std::string text = g.name;
    if (g.count > 1) text += fmt::format(" \u00d7{}", g.count);
    if (sized) text += fmt::format(" \u2014 {}", bytes_text(g.bytes));
    const double x = kColumnX + kColumnW;
    out << fmt::format(R"~(<line class="kt-leader" x1="{}" y1="{}" x2="{}" y2="{}"/>)~", num(x), num(mid), num(x + 10),
                       num(y - 4));
    out << fmt::format(R"~(<text x="{}" y="{}" class="{}">{}</text>)~", num(x + 14), num(y),
                       g.ip ? "kt-label kt-label-ip" : "kt-label", html_escape(text));
  }
}

void add_to_groups(std::vector<Group>& groups, const std::string& name, uint64_t bytes, double y0, double y1,
                   bool ip) {
  if (!groups.empty() && groups.back().name == name && groups.back().ip == ip) {
    Group& g = groups.back();
    ++g.count;
    g.bytes += bytes;
    g.y1 = y1;
    return;
  }
  groups.push_back({name, 1, bytes, y0, y1, ip});
}

std::string frame_name(const std::string& function, const std::string& module) {
  return module.empty() ? function : function + " [" + module + "]";
}

// The left-hand scale: a tick per KiB step and THREAD_SIZE at the bottom.
void draw_scale(uint64_t thread_size, double scale, std::ostream& out) {
  const uint64_t step = thread_size >= 8192 ? 4096 : 1024;
  for (uint64_t b = step; b < thread_size; b += step) {
    const double y = kTop + static_cast<double>(b) * scale;
    out << fmt::format(R"~(<line class="kt-tick" x1="{}" y1="{}" x2="{}" y2="{}"/>)~", num(kColumnX - 6), num(y),
                       num(kColumnX), num(y));
    out << fmt::format(R"~(<text class="kt-scale" x="{}" y="{}" text-anchor="end">{}</text>)~", num(kColumnX - 9),
                       num(y + 4), bytes_text(b));
  }
}

void svg_open(const std::string& id, double height, std::ostream& out) {
  out << fmt::format(
      R"~(<svg class="kt-stack-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-labelledby="{}-title">)~",
      num(kWidth), num(height), num(kWidth), num(height), id);
  out << fmt::format(R"~(<title id="{}-title">The crashing stack, frames drawn top (outermost) to bottom (the faulting function)</title>)~", id);
  out << fmt::format(
      R"~(<defs><pattern id="{}-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line class="kt-hatch-line" x1="0" y1="0" x2="0" y2="8"/></pattern></defs>)~",
      id);
}

void draw_measured(const Report& report, const StackUsage& u, const StackLimit& limit, const std::string& id,
                   std::ostream& out, std::string& caption) {
  const std::optional<uint64_t> thread_size = u.thread_size ? u.thread_size : limit.thread_size;
  const uint64_t span = std::max<uint64_t>(thread_size.value_or(0), u.total);
  const double scale = span ? kScaleHeight / static_cast<double>(span) : 0;
  const double bottom = kTop + static_cast<double>(thread_size.value_or(u.total)) * scale;
  const double total_y = kTop + static_cast<double>(u.total) * scale;
  const double overflow_end = std::max(bottom, total_y) + kOverflowHeight;
  svg_open(id, overflow_end + 30, out);

  out << fmt::format(R"~(<text class="kt-heading" x="{}" y="{}" text-anchor="middle">{} stack, entry at the top</text>)~",
                     num(kColumnX + kColumnW / 2), num(kTop - 12), html_escape(u.stack.empty() ? "the" : u.stack));
  if (thread_size) {
    out << fmt::format(R"~(<rect class="kt-stack-outline" x="{}" y="{}" width="{}" height="{}"><title>THREAD_SIZE {}</title></rect>)~",
                       num(kColumnX), num(kTop), num(kColumnW), num(bottom - kTop), bytes_text(*thread_size));
    out << fmt::format(
        R"~(<rect class="kt-overflow" x="{}" y="{}" width="{}" height="{}" fill="url(#{}-hatch)"><title>past THREAD_SIZE: the guard page (VMAP_STACK) or whatever memory lies below the stack</title></rect>)~",
        num(kColumnX), num(bottom), num(kColumnW), num(overflow_end - bottom), id);
    out << fmt::format(R"~(<text class="kt-scale" x="{}" y="{}" text-anchor="end">past THREAD_SIZE</text>)~", num(kColumnX - 9),
                       num(overflow_end - 3));
    draw_scale(*thread_size, scale, out);
  }

  // Outermost first, so the picture reads like the stack grows: downwards.
  std::vector<Group> groups;
  double y = kTop;
  size_t shade = 0;
  std::string previous;
  for (auto it = u.frames.rbegin(); it != u.frames.rend(); ++it) {
    const FrameStackUsage& f = *it;
    const bool ip = !f.index;
    const std::string name = frame_name(f.function, f.module);
    const std::string which = ip ? "the faulting function" : fmt::format("frame #{}", *f.index);
    if (!f.measured()) {
      out << fmt::format(R"~(<line class="kt-frame-unmeasured" x1="{}" y1="{}" x2="{}" y2="{}"><title>{}: {}: size unknown{}</title></line>)~",
                         num(kColumnX - 4), num(y), num(kColumnX + kColumnW + 4), num(y), which, html_escape(name),
                         html_escape(f.note.empty() ? "" : " (" + f.note + ")"));
      add_to_groups(groups, name + " (size unknown)", 0, y, y, ip);
      continue;
    }
    const double h = static_cast<double>(f.bytes) * scale;
    if (name != previous) ++shade;
    previous = name;
    std::string cls = "kt-frame";
    if (ip) cls += " kt-frame-ip";
    else if (f.method == "pt_regs") cls += " kt-frame-regs";
    else if (shade % 2) cls += " kt-alt";
    out << fmt::format(R"~(<rect class="{}" x="{}" y="{}" width="{}" height="{}" data-bytes="{}"><title>{}: {}: {}{}</title></rect>)~", cls,
                       num(kColumnX), num(y), num(kColumnW), num(h), f.bytes, which, html_escape(name),
                       bytes_text(f.bytes), html_escape(f.note.empty() ? "" : " (" + f.note + ")"));
    add_to_groups(groups, name, f.bytes, y, y + h, ip);
    y += h;
  }
  if (thread_size && limit.thread_info_on_stack.value_or(false)) {
    out << fmt::format(
        R"~(<rect class="kt-thread-info" x="{}" y="{}" width="{}" height="{}"><title>thread_info: at the lowest addresses of the stack on this kernel (not to scale)</title></rect>)~",
        num(kColumnX), num(bottom - kThreadInfoHeight), num(kColumnW), num(kThreadInfoHeight));
    out << fmt::format(R"~(<text class="kt-label kt-label-ti" x="{}" y="{}" text-anchor="middle">thread_info</text>)~",
                       num(kColumnX + kColumnW / 2), num(bottom - 2.5));
  }
  // The measured total, and THREAD_SIZE, on the left.
  out << fmt::format(R"~(<line class="kt-total" x1="{}" y1="{}" x2="{}" y2="{}"/>)~", num(kColumnX - 60), num(total_y),
                     num(kColumnX + kColumnW), num(total_y));
  std::string total = "measured " + bytes_text(u.total);
  if (thread_size && *thread_size) total += fmt::format(" ({:.0f}%)", 100.0 * static_cast<double>(u.total) / static_cast<double>(*thread_size));
  out << fmt::format(R"~(<text class="kt-scale kt-total-label" x="{}" y="{}" text-anchor="end">{}</text>)~",
                     num(kColumnX - 9), num(total_y - 4), total);
  if (thread_size) {
    out << fmt::format(R"~(<text class="kt-scale kt-bottom" x="{}" y="{}" text-anchor="end">THREAD_SIZE {}</text>)~",
                       num(kColumnX - 9), num(bottom + 13), bytes_text(*thread_size));
  }
  draw_labels(groups, true, out);
  out << "</svg>";

  caption = fmt::format("{} frame{} of the {} stack measured from their code: {}", u.measured,
                        u.measured == 1 ? "" : "s", u.stack.empty() ? "crashing" : u.stack, bytes_text(u.total));
  if (thread_size) {
    caption += fmt::format(" of THREAD_SIZE {} ({:.0f}%)", bytes_text(*thread_size),
                           100.0 * static_cast<double>(u.total) / static_cast<double>(*thread_size));
  }
  caption += ".";
  if (u.unmeasured) caption += fmt::format(" {} frame{} could not be measured (drawn as lines).", u.unmeasured, u.unmeasured == 1 ? "" : "s");
  if (u.skipped) caption += fmt::format(" {} frame{} not summed ('?' frames and frames on other stacks).", u.skipped, u.skipped == 1 ? "" : "s");
  (void)report;
}

void draw_by_depth(const Report& report, const ReportDetails& details, const StackLimit& limit,
                   const std::string& id, std::ostream& out, std::string& caption) {
  struct Box {
    std::string name;   // the function (and module): the box's label
    std::string which;  // "frame #3: xfs_buf_unlock+0x32/0x90 [xfs]", its tooltip
    bool reliable = true;
    bool ip = false;
  };
  std::vector<Box> boxes;  // innermost first
  if (details.stack_usage) {
    for (const FrameStackUsage& f : details.stack_usage->frames) {
      boxes.push_back({frame_name(f.function, f.module),
                       (f.index ? fmt::format("frame #{}", *f.index) : "the faulting function") + ": " + frame_name(f.function, f.module),
                       true, !f.index});
    }
  } else {
    for (size_t i = 0; i < report.frames.size(); ++i) {
      const Frame& f = report.frames[i];
      const std::string name = f.function.empty() ? symbol_text(f) : frame_name(f.function, f.module);
      boxes.push_back({name, fmt::format("frame #{}: {}", i, symbol_text(f)), f.reliable, false});
    }
  }
  const double h = std::clamp(360.0 / static_cast<double>(std::max<size_t>(boxes.size(), 1)), 7.0, 22.0);
  const bool thread_info = limit.thread_info_on_stack.value_or(false);
  const double frames_end = kTop + h * static_cast<double>(boxes.size());
  const double bottom = frames_end + 40;  // an unknown distance to the stack's end
  svg_open(id, bottom + (thread_info ? kThreadInfoHeight : 0) + 40, out);
  out << fmt::format(R"~(<text class="kt-heading" x="{}" y="{}" text-anchor="middle">frames by depth: size unknown</text>)~",
                     num(kColumnX + kColumnW / 2), num(kTop - 12));
  std::vector<Group> groups;
  double y = kTop;
  for (auto it = boxes.rbegin(); it != boxes.rend(); ++it) {
    std::string cls = "kt-frame-unsized";
    if (!it->reliable) cls += " kt-unreliable";
    if (it->ip) cls += " kt-frame-ip";
    out << fmt::format(R"~(<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}{}: size unknown</title></rect>)~", cls,
                       num(kColumnX), num(y), num(kColumnW), num(h - 1), html_escape(it->which),
                       it->reliable ? "" : " (unreliable, printed with '?')");
    if (h >= 14) {
      // What fits in the box; the tooltip has the rest.
      std::string label = it->name.size() > 27 ? it->name.substr(0, 26) + "\u2026" : it->name;
      out << fmt::format(R"~(<text class="kt-in-box{}" x="{}" y="{}">{}</text>)~", it->reliable ? "" : " kt-unreliable",
                         num(kColumnX + 6), num(y + h / 2 + 3.5), html_escape(label));
    } else {
      add_to_groups(groups, it->name, 0, y, y + h - 1, it->ip);
    }
    y += h;
  }
  // What lies between the innermost frame and the stack's end is unknown.
  out << fmt::format(R"~(<line class="kt-gap" x1="{}" y1="{}" x2="{}" y2="{}"/>)~", num(kColumnX + kColumnW / 2),
                     num(frames_end + 4), num(kColumnX + kColumnW / 2), num(bottom - 4));
  out << fmt::format(R"~(<text class="kt-scale" x="{}" y="{}">an unknown distance to the stack's end</text>)~",
                     num(kColumnX + kColumnW / 2 + 10), num((frames_end + bottom) / 2 + 4));
  if (limit.thread_size) {
    out << fmt::format(R"~(<line class="kt-total" x1="{}" y1="{}" x2="{}" y2="{}"/>)~", num(kColumnX - 60), num(bottom),
                       num(kColumnX + kColumnW), num(bottom));
    out << fmt::format(R"~(<text class="kt-scale kt-bottom" x="{}" y="{}" text-anchor="end">end of the {} stack</text>)~",
                       num(kColumnX - 9), num(bottom - 4), bytes_text(*limit.thread_size));
  }
  if (thread_info) {
    out << fmt::format(
        R"~(<rect class="kt-thread-info" x="{}" y="{}" width="{}" height="{}"><title>thread_info: at the lowest addresses of the stack on this kernel</title></rect>)~",
        num(kColumnX), num(bottom), num(kColumnW), num(kThreadInfoHeight));
    out << fmt::format(R"~(<text class="kt-label kt-label-ti" x="{}" y="{}" text-anchor="middle">thread_info</text>)~",
                       num(kColumnX + kColumnW / 2), num(bottom + kThreadInfoHeight - 2.5));
  }
  draw_labels(groups, false, out);
  out << "</svg>";

  caption = fmt::format("{} frame{} by depth, innermost at the bottom; their sizes are unknown without the kernel's "
                        "debug info (--vmlinux, --debug-root or --fetch-debuginfo measure them).",
                        boxes.size(), boxes.size() == 1 ? "" : "s");
}

}  // namespace

void render_stack_figure(const Report& report, const ReportDetails& details, const StackLimit& limit,
                         size_t number, const std::string& id, std::ostream& out) {
  const StackUsage* u = details.stack_usage ? &*details.stack_usage : nullptr;
  if (report.frames.empty() && (!u || u->frames.empty())) return;
  out << fmt::format(R"~(<figure class="kt-stack" id="{}">)~", id);
  std::string caption;
  if (u && u->measured > 0) {
    draw_measured(report, *u, limit, id, out, caption);
  } else {
    draw_by_depth(report, details, limit, id, out, caption);
  }
  out << "<figcaption><strong>" << fmt::format("Stack of report {}.", number) << "</strong> " << html_escape(caption);
  if (limit.thread_size) out << " THREAD_SIZE " << html_escape(limit.assumption) << ".";
  if (limit.thread_info_on_stack) out << " " << html_escape(limit.thread_info_reason) << ".";
  out << "</figcaption></figure>\n";
}

}  // namespace ktriage::render
