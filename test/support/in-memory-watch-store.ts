import type { ChannelRecord, WatchRepository } from '../../src/services/ports';

/** WatchRepository in memory: channels, each owner's current channel, sync tokens and last syncs (as WatchStore). */
export class InMemoryWatchStore implements WatchRepository {
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly current = new Map<string, string>();
  private readonly tokens = new Map<string, string>();
  private readonly synced = new Map<string, number>();

  async saveChannel(c: ChannelRecord): Promise<void> {
    this.channels.set(c.channelId, { ...c });
    this.current.set(c.owner, c.channelId);
  }

  async channel(channelId: string): Promise<ChannelRecord | null> {
    const c = this.channels.get(channelId);
    return c ? { ...c } : null;
  }

  async currentChannel(owner: string): Promise<ChannelRecord | null> {
    const id = this.current.get(owner);
    return id ? this.channel(id) : null;
  }

  async currentChannels(owners: string[]): Promise<Array<ChannelRecord | null>> {
    return Promise.all(owners.map((owner) => this.currentChannel(owner)));
  }

  async currentChannelIds(owners: string[]): Promise<Array<string | null>> {
    return owners.map((owner) => this.current.get(owner) ?? null);
  }

  async removeChannel(c: ChannelRecord): Promise<void> {
    this.channels.delete(c.channelId);
    if (this.current.get(c.owner) === c.channelId) this.current.delete(c.owner);
  }

  async channelPage(offset: number, limit: number): Promise<ChannelRecord[]> {
    return [...this.channels.values()].sort((a, b) => a.expiration - b.expiration).slice(offset, offset + limit).map((c) => ({ ...c }));
  }

  async syncToken(owner: string): Promise<string | null> {
    return this.tokens.get(owner) ?? null;
  }

  async setSyncToken(owner: string, token: string | null): Promise<void> {
    if (token) this.tokens.set(owner, token);
    else this.tokens.delete(owner);
  }

  async lastSync(owner: string): Promise<number> {
    return this.synced.get(owner) ?? 0;
  }

  async markSynced(owner: string, at: number): Promise<void> {
    this.synced.set(owner, at);
  }
}
