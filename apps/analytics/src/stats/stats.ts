/** What GET /stats answers: the projections, with conversion worked out. Money is in cents. */
export interface Stats {
  readonly signups: { readonly total: number; readonly byDay: ReadonlyArray<{ readonly day: string; readonly signups: number }> };
  readonly sales: SalesFigures & {
    readonly declined: number;
    readonly byDay: ReadonlyArray<SalesFigures & { readonly day: string; readonly declined: number }>;
  };
  readonly concerts: ReadonlyArray<SalesFigures & { readonly concertId: string; readonly concertName: string }>;
}

export interface SalesFigures {
  readonly tickets: number;
  readonly revenueCents: number;
  readonly confirmed: number;
  readonly rejected: number;
  /** confirmed / (confirmed + rejected); null before any order has ended. */
  readonly conversion: number | null;
}

export function conversionOf(confirmed: number, rejected: number): number | null {
  return confirmed + rejected === 0 ? null : confirmed / (confirmed + rejected);
}
