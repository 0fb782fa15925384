"""The words every figure uses, one meaning each: in Slack, the dashboard's tooltips, the CLI and reports.

docs/glossary.md carries the same definitions (a test keeps them equal).
"""

from __future__ import annotations

TERMS: dict[str, str] = {
    "mention": "One stored post (or reply, quote or repost) that matches the brand's query.",
    "interaction": "A like, share or reply to one post, as the source reports it (a post's shares are at "
                   "least the reposts and quotes of it collected); a post going viral is measured in "
                   "interactions, everything else in mentions.",
    "reach": "How many people a post could have been seen by: its views where the source reports them "
             "(X, YouTube, Reddit), else its author's followers. Summed over posts, so one person may "
             "count more than once.",
    "corrected sentiment": "A person's sentiment label for a post, set on the Mentions page or with `monitor nlp "
                           "correct`; it replaces the model's label in every figure (dashboard, alerts, reports).",
    "spike window": "The span the detector measured a spike over: one bucket (15 min by default) or up to "
                    "`detection.window` buckets summed, so a window can be 15, 30 or 45 min.",
    "deleted post": "A stored post its author deleted later (seen on a stream): kept and marked deleted, as "
                    "evidence for incidents; it still counts in the volume of its hour, but is never judged "
                    "viral again.",
    "peak": "The spike window with the most mentions, always named with its length "
            "(\u201c128 mentions in 30 min\u201d).",
    "detected at": "When the detector opened the incident (the tick that judged the spike window). "
                   "Every time shown for an incident is this one; its id names no time.",
    "negative share": "Negative mentions among the mentions with a sentiment, in the same window as the "
                      "figure beside it (in an alert: the posts the rule judged, the mentions of the spike "
                      "window, or for a post going viral the post and the quotes of and replies to it); "
                      "\u201cusual\u201d is the same share in the seasonal baseline.",
    "uncertain": "A post whose sentiment the model was unsure of (its label's probability below "
                 "`nlp.uncertain_below`). It still counts under its label; an alert's sentiment split says how "
                 "many of each label were uncertain (\u201c200 negative (12 uncertain)\u201d).",
    "usual": "What the detector expected for the same time of week (or day) from the weeks before; for a post "
             "going viral, the 90th percentile of the brand's posts' interactions.",
    "time to acknowledge": "From when the incident opened to its first acknowledgement.",
    "time to resolve": "From when the incident opened to when it was (last) resolved; a false alarm has none.",
    "time to close": "From when the incident opened to when it was (last) resolved or marked a false alarm.",
    "steps on time": "Playbook steps done by their deadline (counted from when the incident opened), among "
                     "the steps done.",
    "negative share before": "The negative share of the 24 whole UTC hours before the hour the incident "
                             "opened in.",
    "negative share after": "The negative share of the 24 whole UTC hours from the first whole hour after the "
                            "incident was resolved or marked a false alarm; none while it is open.",
}
"""Each term and its definition, in the order the glossary lists them."""

OUTCOME_TERMS = ("time to acknowledge", "time to resolve", "time to close", "steps on time",
                 "negative share before", "negative share after")
"""How an incident went: the figures of ``monitor report incidents``, ``monitor incident show``, the
dashboard and the Slack thread (:mod:`monitor.alerts.incidents.outcomes`)."""

ALIASES = {"mentions": "mention", "interactions": "interaction", "negative mentions": "negative share"}


def help_for(term: str) -> str:
    """The definition of ``term`` (singular, plural or an alias) for a tooltip; "" when it is not a term."""
    key = term.casefold()
    return TERMS.get(ALIASES.get(key, key), "")
