//! The legend: every colour and mark the page draws, with what it means.

use yew::prelude::*;

/// The legend.
#[function_component(Legend)]
pub fn legend() -> Html {
    html! {
        <section class="legend" aria-label="legend">
            <h2>{ "Legend" }</h2>
            <ul>
                <li>{ for (0..7).map(|e| html! { <span class={classes!("cell", format!("e{e}"))}>{ e }</span> }) }
                    { " leader epoch of the record (colour and number repeat every 7)" }</li>
                <li><span class="cell e1 uncommitted" />{ " above the high watermark: not committed yet" }</li>
                <li><span class="cell e1">{ "•" }</span>{ " acknowledged to a producer" }</li>
                <li><span class="cell cut e1">{ "✕" }</span>{ " cut by a truncation a moment ago" }</li>
                <li><span class="cell e1 finding" />{ " named by a checker's finding" }</li>
                <li><span class="mark-sample hw">{ "HW" }</span>{ " high watermark  " }
                    <span class="mark-sample leo" />{ " log end offset  " }
                    <span class="mark-sample log-start" />{ " log start offset" }</li>
                <li><span class="node-sample up" />{ " up  " }<span class="node-sample fenced" />{ " fenced  " }
                    <span class="node-sample killed" />{ " killed  " }<span class="node-sample off" />{ " powered off  " }
                    <span class="node-sample stopped" />{ " shut down" }</li>
                <li><span class="msg-sample produce" />{ " Produce  " }<span class="msg-sample fetch" />{ " Fetch  " }
                    <span class="msg-sample group" />{ " group  " }<span class="msg-sample control" />{ " controller, metadata" }
                    { "  ✕ cut link (arrow: one way) · \"holds N\": responses held until the HW or an fsync" }</li>
                <li>{ for ["fault", "election", "isr", "rebalance", "finding"].iter().map(|k| html! {
                    <><span class={classes!("marker-sample", *k)} />{ format!(" {k}  ") }</>
                }) }</li>
                <li class="keys">{ "Keys: space play/pause · ←/→ one event · shift+←/→ 100 · [ ] previous/next marker · Home/End · +/− speed" }</li>
            </ul>
        </section>
    }
}
