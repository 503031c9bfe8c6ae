import type { Kysely } from 'kysely';
import { ActionOutcomeRepository } from './repositories/action-outcome.repository.ts';
import { AlertRepository } from './repositories/alert.repository.ts';
import { CameraRepository } from './repositories/camera.repository.ts';
import { DeadLetterRepository } from './repositories/dead-letter.repository.ts';
import { DetectionRepository } from './repositories/detection.repository.ts';
import { DeviceRepository } from './repositories/device.repository.ts';
import { OrganisationRepository } from './repositories/organisation.repository.ts';
import { RecordingRepository } from './repositories/recording.repository.ts';
import { RuleRepository } from './repositories/rule.repository.ts';
import { RuleStateRepository } from './repositories/rule-state.repository.ts';
import { SecretRepository } from './repositories/secret.repository.ts';
import { SessionRepository } from './repositories/session.repository.ts';
import { SiteRepository } from './repositories/site.repository.ts';
import { TrackRepository } from './repositories/track.repository.ts';
import { UserRepository } from './repositories/user.repository.ts';
import type { Schema } from './schema.ts';

/** Every repository over one database handle (or one transaction). */
export interface Store {
  organisations: OrganisationRepository;
  users: UserRepository;
  sessions: SessionRepository;
  sites: SiteRepository;
  devices: DeviceRepository;
  cameras: CameraRepository;
  rules: RuleRepository;
  ruleStates: RuleStateRepository;
  tracks: TrackRepository;
  detections: DetectionRepository;
  alerts: AlertRepository;
  actionOutcomes: ActionOutcomeRepository;
  deadLetters: DeadLetterRepository;
  recordings: RecordingRepository;
  secrets: SecretRepository;
}

/**
 * The repositories over `db`. Pass a transaction to make several writes atomic:
 * `await db.transaction().execute((trx) => work(createStore(trx)))`.
 */
export function createStore(db: Kysely<Schema>): Store {
  return {
    organisations: new OrganisationRepository(db),
    users: new UserRepository(db),
    sessions: new SessionRepository(db),
    sites: new SiteRepository(db),
    devices: new DeviceRepository(db),
    cameras: new CameraRepository(db),
    rules: new RuleRepository(db),
    ruleStates: new RuleStateRepository(db),
    tracks: new TrackRepository(db),
    detections: new DetectionRepository(db),
    alerts: new AlertRepository(db),
    actionOutcomes: new ActionOutcomeRepository(db),
    deadLetters: new DeadLetterRepository(db),
    recordings: new RecordingRepository(db),
    secrets: new SecretRepository(db),
  };
}
