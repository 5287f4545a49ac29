// idr_alloc_cyclic(): prog and link ids count up from 1 and are not reused until they wrap.

const ID_MAX = 0x7fffffff;

export class CyclicIdr<T> {
  private next = 1;
  private readonly objects = new Map<number, T>();

  /** Reserves the next id for `object`. */
  alloc(object: T): number {
    let id = this.next;
    while (this.objects.has(id)) id = id >= ID_MAX ? 1 : id + 1;
    this.next = id >= ID_MAX ? 1 : id + 1;
    this.objects.set(id, object);
    return id;
  }

  /** idr_alloc(idr, object, id, id + 1): `id` exactly (the caller knows it is free). */
  allocAt(id: number, object: T): void {
    this.objects.set(id, object);
  }

  /** idr_set_cursor(): where the next alloc() starts looking. */
  setCursor(next: number): void {
    this.next = next;
  }

  find(id: number): T | undefined {
    return this.objects.get(id);
  }

  remove(id: number): void {
    this.objects.delete(id);
  }
}
