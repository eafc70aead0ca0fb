// The HTML report's stylesheet: every rule under `.ktriage`, so a fragment
// can sit in another page (ktriage serve) without restyling it. Colours are
// variables with a dark set for prefers-color-scheme and a plain set for print.
#include "ktriage/render.h"

namespace ktriage {

std::string_view html_stylesheet() {
  return R"css(
.ktriage{--kt-bg:#ffffff;--kt-fg:#1f2328;--kt-muted:#59636e;--kt-border:#d1d9e0;--kt-link:#0969da;
--kt-bad:#cf222e;--kt-bad-bg:#ffebe9;--kt-warn:#9a6700;--kt-warn-bg:#fff8c5;--kt-ok:#1a7f37;--kt-ok-bg:#dafbe1;
--kt-code-bg:#f6f8fa;--kt-frame:#9ec5fe;--kt-frame-alt:#cfe2ff;--kt-frame-edge:#3d6fb6;--kt-ip:#ff8182;
--kt-regs:#d2c4fb;--kt-chain:#fff1a8;--kt-fault:#ffd1d1;--kt-ti:#e6a700;--kt-mark:#ffe066;
color:var(--kt-fg);background:var(--kt-bg);font:15px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;
max-width:76rem;margin:0 auto;padding:1.25rem 1.5rem 3rem}
@media (prefers-color-scheme:dark){.ktriage{--kt-bg:#0d1117;--kt-fg:#e6edf3;--kt-muted:#9198a1;--kt-border:#3d444d;
--kt-link:#4493f8;--kt-bad:#ff7b72;--kt-bad-bg:#3d1214;--kt-warn:#d29922;--kt-warn-bg:#2e2205;--kt-ok:#3fb950;
--kt-ok-bg:#0f2d16;--kt-code-bg:#161b22;--kt-frame:#1f4f8f;--kt-frame-alt:#173a66;--kt-frame-edge:#79b8ff;
--kt-ip:#a4262c;--kt-regs:#4b3a8c;--kt-chain:#4a3f0b;--kt-fault:#5c1a1d;--kt-ti:#b58900;--kt-mark:#6b5900}}
.ktriage *{box-sizing:border-box}
.ktriage a{color:var(--kt-link)}
.ktriage h1{font-size:1.5rem;margin:0 0 .25rem}
.ktriage h2{font-size:1.25rem;margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--kt-border)}
.ktriage h3{font-size:1.05rem;margin:1.25rem 0 .4rem}
.ktriage h4{font-size:.95rem;margin:1rem 0 .3rem}
.ktriage code,.ktriage pre,.ktriage .kt-mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.86em}
.ktriage pre{background:var(--kt-code-bg);border:1px solid var(--kt-border);border-radius:6px;padding:.6rem .8rem;overflow-x:auto;line-height:1.4}
.ktriage .kt-meta{color:var(--kt-muted);margin:.2rem 0}
.ktriage .kt-badge{display:inline-block;border:1px solid var(--kt-border);border-radius:1em;padding:0 .6em;font-size:.8em;
white-space:nowrap;background:var(--kt-code-bg)}
.ktriage .kt-badge-bad{color:var(--kt-bad);background:var(--kt-bad-bg);border-color:var(--kt-bad)}
.ktriage .kt-badge-warn{color:var(--kt-warn);background:var(--kt-warn-bg);border-color:var(--kt-warn)}
.ktriage .kt-badge-ok{color:var(--kt-ok);background:var(--kt-ok-bg);border-color:var(--kt-ok)}
.ktriage .kt-headline{border:2px solid var(--kt-bad);border-radius:8px;padding:.25rem 1.25rem 1rem;background:var(--kt-bg)}
.ktriage .kt-headline h2{border:0;margin-top:.75rem;color:var(--kt-bad)}
.ktriage .kt-finding{margin:1rem 0}
.ktriage .kt-finding:not(.kt-headline){border-left:3px solid var(--kt-border);padding:.1rem 0 .1rem 1rem}
.ktriage .kt-finding:not(.kt-headline) h3{margin-top:.3rem}
.ktriage .kt-evidence li,.ktriage .kt-actions li{margin:.15rem 0}
.ktriage .kt-where{color:var(--kt-muted);font-size:.9em}
.ktriage .kt-alert{color:var(--kt-bad);background:var(--kt-bad-bg);border-radius:6px;padding:.4rem .75rem}
.ktriage dl.kt-facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
.ktriage dl.kt-facts dt{color:var(--kt-muted)}
.ktriage dl.kt-facts dd{margin:0;overflow-wrap:anywhere}
.ktriage table{border-collapse:collapse;margin:.4rem 0;font-size:.9em}
.ktriage th,.ktriage td{text-align:left;vertical-align:top;padding:.12rem .6rem;border-bottom:1px solid var(--kt-border)}
.ktriage th{color:var(--kt-muted);font-weight:600}
.ktriage table.kt-listing td,.ktriage table.kt-trace td{border:0;padding:.03rem .5rem;white-space:pre}
.ktriage table.kt-listing{min-width:100%}
.ktriage table.kt-listing td:last-child{width:100%}
.ktriage table.kt-listing,.ktriage table.kt-trace{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.82em}
.ktriage .kt-scroll{overflow-x:auto;border:1px solid var(--kt-border);border-radius:6px;background:var(--kt-code-bg)}
.ktriage tr.kt-src td{color:var(--kt-muted);padding-top:.3rem}
.ktriage tr.kt-src a{color:var(--kt-muted)}
.ktriage tr.kt-chain td{background:var(--kt-chain)}
.ktriage tr.kt-faulting td{background:var(--kt-fault);font-weight:700}
.ktriage tr.kt-faulting td.kt-marker{color:var(--kt-bad)}
.ktriage tr:target td{outline:2px solid var(--kt-link);outline-offset:-2px}
.ktriage mark.kt-reg{background:var(--kt-mark);color:inherit;border-radius:3px;padding:0 .1em}
.ktriage .kt-step{color:var(--kt-muted);font-size:.85em}
.ktriage tr.kt-unreliable td{opacity:.5}
.ktriage td.kt-dim,.ktriage .kt-dim{color:var(--kt-muted)}
.ktriage .kt-regs{display:grid;grid-template-columns:repeat(auto-fill,minmax(23rem,1fr));gap:0 1.5rem;font-size:.9em}
.ktriage .kt-reg-row{padding:.05rem .3rem;border-bottom:1px solid var(--kt-border);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ktriage .kt-reg-name{display:inline-block;min-width:3.2em;color:var(--kt-muted);font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.86em}
.ktriage .kt-reg-row.kt-named{background:var(--kt-chain)}
.ktriage .kt-reg-row.kt-named .kt-reg-name{color:var(--kt-fg);font-weight:700}
.ktriage .kt-reg-class{color:var(--kt-muted);font-size:.9em}
.ktriage .kt-class-non_canonical,.ktriage .kt-class-poison,.ktriage .kt-named .kt-reg-class{color:var(--kt-bad);font-weight:600}
.ktriage .kt-badge.kt-badge-bad{color:var(--kt-bad)}
.ktriage figure.kt-stack{margin:1rem 0;overflow-x:auto}
.ktriage figure.kt-stack figcaption{color:var(--kt-muted);font-size:.9em;max-width:60rem}
.ktriage svg.kt-stack-svg{display:block;max-width:100%;height:auto}
.ktriage svg text{fill:var(--kt-fg);font:11px ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.ktriage svg text.kt-heading{fill:var(--kt-muted);font-size:12px}
.ktriage svg text.kt-scale{fill:var(--kt-muted)}
.ktriage svg text.kt-label-ip{fill:var(--kt-bad);font-weight:700}
.ktriage svg text.kt-label-ti{fill:#000;font-size:9px;font-weight:700}
.ktriage svg text.kt-unreliable{opacity:.6}
.ktriage svg .kt-stack-outline{fill:none;stroke:var(--kt-fg);stroke-width:1.5}
.ktriage svg .kt-overflow{stroke:var(--kt-bad);stroke-dasharray:4 3}
.ktriage svg .kt-hatch-line{stroke:var(--kt-bad);stroke-width:2;opacity:.45}
.ktriage svg .kt-frame{fill:var(--kt-frame);stroke:var(--kt-frame-edge);stroke-width:.4}
.ktriage svg .kt-frame.kt-alt{fill:var(--kt-frame-alt)}
.ktriage svg .kt-frame-regs{fill:var(--kt-regs)}
.ktriage svg .kt-frame-ip{fill:var(--kt-ip)}
.ktriage svg .kt-frame-unsized{fill:var(--kt-frame-alt);stroke:var(--kt-frame-edge);stroke-width:.6;stroke-dasharray:3 2}
.ktriage svg .kt-frame-unsized.kt-unreliable{opacity:.5}
.ktriage svg .kt-frame-unmeasured{stroke:var(--kt-warn);stroke-width:1.5;stroke-dasharray:2 2}
.ktriage svg .kt-thread-info{fill:var(--kt-ti);stroke:var(--kt-fg);stroke-width:.8}
.ktriage svg .kt-tick,.ktriage svg .kt-leader{stroke:var(--kt-muted);stroke-width:.8}
.ktriage svg .kt-total{stroke:var(--kt-fg);stroke-width:1;stroke-dasharray:5 3}
.ktriage svg .kt-gap{stroke:var(--kt-muted);stroke-width:2;stroke-dasharray:1 5}
.ktriage details{margin:.6rem 0}
.ktriage summary{cursor:pointer;color:var(--kt-muted);font-weight:600}
.ktriage .kt-kb-match{margin:.75rem 0;padding-left:1rem;border-left:3px solid var(--kt-border)}
.ktriage .kt-kb-match p{margin:.15rem 0}
.ktriage .kt-kb-match h3{margin:.2rem 0}
.ktriage .kt-report{margin-top:2.5rem}
.ktriage footer{margin-top:3rem;color:var(--kt-muted);font-size:.85em}
@media print{.ktriage{--kt-bg:#fff;--kt-fg:#000;--kt-muted:#444;--kt-border:#bbb;--kt-link:#000;--kt-bad:#b00;
--kt-bad-bg:#fff;--kt-warn:#750;--kt-warn-bg:#fff;--kt-ok:#060;--kt-ok-bg:#fff;--kt-code-bg:#fff;--kt-frame:#bcd4f6;
--kt-frame-alt:#e1ecfb;--kt-frame-edge:#335;--kt-ip:#f4a4a4;--kt-regs:#ddd2fb;--kt-chain:#f3f3f3;--kt-fault:#ffdede;
--kt-ti:#f0c040;--kt-mark:#fff;max-width:none;padding:0;font-size:10pt}
.ktriage .kt-report{break-before:page}
.ktriage figure,.ktriage table,.ktriage .kt-finding{break-inside:avoid}
.ktriage .kt-scroll{overflow:visible;border:0}
.ktriage table.kt-listing td,.ktriage table.kt-trace td{white-space:pre-wrap}
.ktriage mark.kt-reg{text-decoration:underline;font-weight:700}
.ktriage .kt-kb a[href^="http"]::after{content:" <" attr(href) ">";font-size:.8em;word-break:break-all}}
)css";
}

}  // namespace ktriage
