/**
 * The report's one stylesheet. It covers the classes of the fragments it embeds (the compare
 * page's, the drift report's and the shadow report's) so they look as on their own pages.
 */
export const STYLE = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#f6f8fa;--card:#fff;--diff:#fff8c5;--diff-edge:#d4a72c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:18px;margin:40px 0 10px;padding-top:10px;border-top:1px solid var(--line)}
h3{font-size:15px;margin:22px 0 8px}.card h3{font-size:14px;margin:0 0 6px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
nav ul{display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0 0;padding:0;list-style:none}
.sub{color:var(--muted);margin:0 0 14px}
.note{color:var(--muted);font-size:13px;margin:4px 0 10px}
.empty-section{color:var(--muted);background:var(--card);border:1px dashed var(--line);border-radius:8px;padding:12px}
.error{color:#cf222e}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0;padding:0;list-style:none}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;flex:none;vertical-align:middle;margin:0 4px 0 12px}
.legend .sw{margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:#eaeef2}.chart .axis,.axis{stroke:#8c959f}
.chart .tick,.tick{font-size:11px;fill:var(--muted)}.chart .label{font-size:11px;fill:var(--muted)}.chart .empty{fill:var(--muted)}
.chart .mark{font-size:11px;font-weight:600}
.legend.small{font-size:12px;margin-top:6px}
.tw{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 12px;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:240px}
tr:last-child>*{border-bottom:none}
thead th{background:#f0f3f6;font-weight:600}
tbody th{font-weight:500;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
td{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
tr.differs>*{background:var(--diff)}tr.differs>th{box-shadow:inset 3px 0 var(--diff-edge)}
tr.fail>*{background:#fff5f5}
.missing{color:var(--muted)}
.id{color:var(--muted);font-weight:400;font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.status,.v,.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-family:inherit;font-weight:600;background:#eaeef2;color:var(--muted)}
.s-FINISHED,.p-live,.p-promote,.p-ok,.v-no_drift{background:#dafbe1;color:#1a7f37}
.s-FAILED,.s-KILLED,.p-rolled_back,.p-refused,.p-stop,.p-failed,.v-drift{background:#ffebe9;color:#cf222e}
.s-RUNNING,.s-SCHEDULED,.p-canary,.p-running,.p-keep_running{background:#ddf4ff;color:#0969da}
.flag{padding:2px 8px;border-radius:4px;color:#fff;font-size:12px}.bad{background:#c0392b}.ok{background:#27ae60}
.decision{font-size:15px;margin:10px 0}
#shadow .chart{max-width:640px}
`;
