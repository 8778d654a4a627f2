import type { FleetRepository } from '../store/fleet-repository.ts';

/** Names for metric labels, looked up once: ids never change name. */
export class FleetNames {
  private readonly instances = new Map<number, string>();
  private readonly infrastructures = new Map<number, string>();

  constructor(private readonly fleet: FleetRepository) {}

  async instance(id: number): Promise<string> {
    let name = this.instances.get(id);
    if (name === undefined) {
      name = (await this.fleet.findInstance({ id }))?.name ?? String(id);
      this.instances.set(id, name);
    }
    return name;
  }

  async infrastructure(id: number): Promise<string> {
    let name = this.infrastructures.get(id);
    if (name === undefined) {
      name = (await this.fleet.findInfrastructure({ id }))?.name ?? String(id);
      this.infrastructures.set(id, name);
    }
    return name;
  }
}
