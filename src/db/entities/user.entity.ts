import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  /** MovieLens userId for imported users; onboarded users continue the sequence. */
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'token_hash', type: 'text', nullable: true, select: false })
  tokenHash: string | null;

  /** The integrator's own id for this user (1–256 characters), unique; null for most users. */
  @Column({ name: 'external_id', type: 'text', nullable: true })
  externalId: string | null;

  /** Onboarded users and users created by a service key; imported MovieLens users are public. */
  @Column({ name: 'is_private', type: 'boolean', default: false })
  isPrivate: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
