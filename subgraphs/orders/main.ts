import { startStandaloneSubgraph } from '../../platform/startStandaloneSubgraph.ts';
import { ordersSubgraph } from './ordersSubgraph.ts';

startStandaloneSubgraph('orders', ordersSubgraph);
