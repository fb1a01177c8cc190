import { startStandaloneSubgraph } from '../../platform/startStandaloneSubgraph.ts';
import { inventorySubgraph } from './inventorySubgraph.ts';

startStandaloneSubgraph('inventory', inventorySubgraph);
