/**
 * What the local dashboard preview draws: the deployed CloudWatch dashboards' widgets, resolved
 * against the local run's metrics (`local/dashboard.ts` resolves, `web/dashboardPreview.ts`
 * draws). Types only, so both sides compile it.
 */

export interface PreviewDataset {
  readonly label: string;
  /** `[period start ms, value]`, in time order. */
  readonly points: [number, number][];
}

export interface PreviewWidget {
  readonly type: "metric" | "text";
  readonly title: string;
  /** The widget's place on CloudWatch's 24-column grid. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly markdown?: string;
  /** The widget's period, seconds. */
  readonly period?: number;
  readonly datasets?: PreviewDataset[];
  readonly annotations?: { label: string; value: number }[];
  /** The CloudWatch metric names the widget shows (search expressions included). */
  readonly metrics?: string[];
}

export interface PreviewPage {
  readonly name: string;
  readonly widgets: readonly PreviewWidget[];
}

export interface PreviewData {
  readonly pages: readonly PreviewPage[];
  /** When the run finished: the period holding it was still filling. */
  readonly generatedAtMs: number;
}
