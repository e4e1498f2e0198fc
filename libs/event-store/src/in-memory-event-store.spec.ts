import { eventStoreContract } from './event-store.contract.js';
import { InMemoryEventStore } from './in-memory-event-store.js';

eventStoreContract(InMemoryEventStore.name, async () => ({ store: new InMemoryEventStore() }));
