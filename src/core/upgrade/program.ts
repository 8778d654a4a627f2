import type { Environment, ProductLine } from '../fleet/fleet.ts';

export type Phase = 'non-production' | 'production';

export const programStates = ['draft', 'published', 'running', 'halted', 'completed'] as const;
export type ProgramState = (typeof programStates)[number];

export const waveStates = ['scheduled', 'running', 'completed', 'halted'] as const;
export type WaveState = (typeof waveStates)[number];

/** What a customer may ask of a program (both are answered, and recorded). */
export const customerRequestKinds = ['reschedule', 'opt-out'] as const;
export type CustomerRequestKind = (typeof customerRequestKinds)[number];

export function phaseOf(environment: Environment): Phase {
  return environment === 'production' ? 'production' : 'non-production';
}

/** Hours of the day (UTC) and weekdays in which windows may lie. */
export interface AllowedWindow {
  /** Minutes after midnight UTC, 0-1439. start > end means the range crosses midnight;
   * start === end means all day (see allowed-window.ts). */
  startMinute: number;
  endMinute: number;
  /** ISO weekdays 1 (Monday) .. 7 (Sunday) on which a window may START. */
  weekdays: number[];
}

/** What an operator decides about an upgrade program; validated data with defaults. */
export interface ProgramSpec {
  name: string;
  sourceInfrastructure: string;
  targetInfrastructure: string;
  productLines: ProductLine[];
  nonProductionStart: number;
  productionStart: number;
  /** Instances per wave. */
  waveSize: number;
  /** Switches running at once within a wave. */
  concurrency: number;
  allowed: AllowedWindow;
  minNoticeNonProductionMs: number;
  minNoticeProductionMs: number;
  /** Reminder offsets before a window starts. */
  remindersMs: number[];
  supportContact: string;
  /** Prior per-instance switch time, until completed switches give a running estimate. */
  switchEstimateMs: number;
  /** Added to every wave for in-flight deliveries to finish and stragglers. */
  drainAllowanceMs: number;
  /** Fraction of failed switches in a wave above which the wave halts. */
  haltThreshold: number;
}

/** One instance as the planner sees it. */
export interface PlannedInstance {
  id: number;
  name: string;
  customerId: number;
  environment: Environment;
  productLine: ProductLine;
}

export interface PlannedWave {
  /** 1-based, in order of start. */
  index: number;
  phase: Phase;
  start: number;
  end: number;
  estimateMs: number;
  instances: PlannedInstance[];
  /** The wave that takes instances whose switch failed and was rolled back. */
  retry: boolean;
}

export interface Plan {
  waves: PlannedWave[];
  start: number;
  end: number;
  totalMs: number;
  /** Decisions the operator should know about (e.g. a phase start moved to respect notice). */
  notes: string[];
}
