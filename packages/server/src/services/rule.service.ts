import { type Clock, IcebergError, type Logger } from '@iceberg/common';
import { parseRule, type Rule, type RuleIssue, RuleSpec } from '@iceberg/rules';
import type { Page, PageRequest, RuleRecord, Store } from '@iceberg/store';
import { z } from 'zod';

/** A rule as the API shows it: the spec as the user wrote it (defaults filled in) and its bookkeeping. */
export const RuleView = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  spec: RuleSpec,
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type RuleView = z.output<typeof RuleView>;

/** The rule the evaluator runs for a stored record, or null when its spec no longer parses. */
export function ruleOf(record: RuleRecord): Rule | null {
  const parsed = parseRule(record.spec);
  if (!parsed.ok) return null;
  return { ...parsed.rule, enabled: record.enabled, id: record.id, orgId: record.orgId };
}

export interface RuleServiceOptions {
  store: Store;
  clock: Pick<Clock, 'now'>;
  logger?: Logger;
  /** Called after any rule of the organisation is created, replaced, switched or deleted. */
  onChange?: (orgId: string) => void;
}

/**
 * The rules of an organisation. Every spec is checked with `parseRule` (problems come back with
 * their field paths) and every camera it names must belong to the organisation.
 */
export class RuleService {
  constructor(private readonly o: RuleServiceOptions) {}

  async list(orgId: string, filter: { enabled?: boolean }, page: PageRequest): Promise<Page<RuleView>> {
    const result = await this.o.store.rules.list(orgId, filter, page);
    return { items: result.items.map(toView), nextCursor: result.nextCursor };
  }

  /** Throws ICEBERG_ERR_NOT_FOUND unless the organisation has the rule. */
  async get(orgId: string, id: string): Promise<RuleView> {
    const rule = await this.o.store.rules.get(orgId, id);
    if (!rule) throw notFound(id);
    return toView(rule);
  }

  /** `input` is what the user sent (a RuleSpec input); throws ICEBERG_ERR_INPUT_INVALID with `details.issues`. */
  async create(orgId: string, input: unknown): Promise<RuleView> {
    const spec = await this.validate(orgId, input);
    const rule = await this.o.store.rules.create({
      orgId,
      name: spec.name,
      enabled: spec.enabled,
      cameraIds: spec.cameras,
      spec,
      createdAt: this.o.clock.now(),
    });
    this.o.logger?.info({ orgId, ruleId: rule.id }, 'rule created');
    this.changed(orgId);
    return toView(rule);
  }

  /** Replaces the whole spec. */
  async replace(orgId: string, id: string, input: unknown): Promise<RuleView> {
    if (!(await this.o.store.rules.get(orgId, id))) throw notFound(id);
    const spec = await this.validate(orgId, input);
    const rule = await this.o.store.rules.update(
      orgId,
      id,
      { name: spec.name, enabled: spec.enabled, cameraIds: spec.cameras, spec },
      this.o.clock.now(),
    );
    if (!rule) throw notFound(id);
    this.changed(orgId);
    return toView(rule);
  }

  /** Switches a rule on or off (the spec's `enabled` follows). */
  async setEnabled(orgId: string, id: string, enabled: boolean): Promise<RuleView> {
    const current = await this.o.store.rules.get(orgId, id);
    if (!current) throw notFound(id);
    const spec =
      current.spec !== null && typeof current.spec === 'object' && !Array.isArray(current.spec)
        ? { ...(current.spec as Record<string, unknown>), enabled }
        : current.spec;
    const rule = await this.o.store.rules.update(orgId, id, { enabled, spec }, this.o.clock.now());
    if (!rule) throw notFound(id);
    this.changed(orgId);
    return toView(rule);
  }

  async delete(orgId: string, id: string): Promise<void> {
    if (!(await this.o.store.rules.delete(orgId, id))) throw notFound(id);
    this.o.logger?.info({ orgId, ruleId: id }, 'rule deleted');
    this.changed(orgId);
  }

  private async validate(orgId: string, input: unknown): Promise<RuleSpec> {
    const parsed = parseRule(input);
    if (!parsed.ok) throw invalid(parsed.errors);
    const issues: RuleIssue[] = [];
    for (const [i, cameraId] of parsed.rule.cameras.entries()) {
      if (!(await this.o.store.cameras.get(orgId, cameraId)))
        issues.push({ path: `cameras[${i}]`, message: `no camera "${cameraId}" in this organisation` });
    }
    if (issues.length > 0) throw invalid(issues);
    return parsed.rule;
  }

  private changed(orgId: string): void {
    try {
      this.o.onChange?.(orgId);
    } catch (err) {
      this.o.logger?.warn({ err, orgId }, 'rule change listener failed');
    }
  }
}

function invalid(issues: RuleIssue[]): IcebergError {
  const first = issues[0];
  const message = !first
    ? 'the rule is not valid'
    : first.path
      ? `${first.path}: ${first.message}`
      : first.message;
  return new IcebergError('ICEBERG_ERR_INPUT_INVALID', message, { details: { issues } });
}

function notFound(id: string): IcebergError {
  return new IcebergError('ICEBERG_ERR_NOT_FOUND', `no rule "${id}" in this organisation`);
}

function toView(rule: RuleRecord): RuleView {
  return {
    id: rule.id,
    name: rule.name,
    enabled: rule.enabled,
    spec: rule.spec as RuleSpec,
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}
