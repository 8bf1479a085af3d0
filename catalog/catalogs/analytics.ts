import { defineCatalog } from "../schema";

/**
 * The shipped catalog: the reference designs' events, so a fresh deploy shows something
 * real. Thresholds here are defaults; stack config may override them.
 */
export const catalog = defineCatalog({
  namespace: "RealtimeAnalytics",
  events: { typeField: "event_type", timeField: "utc_timestamp" },
  metrics: {
    pageViews: {
      event: "page view",
      label: "Page views",
      group: "Traffic",
      alarms: {
        low: {
          below: 5,
          evaluationPeriods: 3,
          missingData: "breaching",
          description: "Fewer page views than expected: the site or the producers may be down.",
        },
      },
    },
    clicks: { event: "click", label: "Clicks", group: "Traffic" },
    impressions: { event: "impression", label: "Impressions", group: "Traffic" },
    donations: {
      event: "donation",
      label: "Donations",
      group: "Donations",
      sum: "amount",
      // The platforms the donation page is embedded on; a donation from anywhere else is
      // counted under "(other)", one without a platform under "(none)".
      dimensions: { platform: { values: ["Web", "iOS", "Android", "Facebook", "Instagram", "Twitter"] } },
      alarms: {
        stalled: {
          below: 1,
          evaluationPeriods: 15,
          missingData: "breaching",
          description: "No donation for 15 buckets in a row (15 minutes with minute granularity).",
        },
      },
    },
  },
});
