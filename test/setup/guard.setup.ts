import { installNetworkGuard } from "./networkGuard.js";

installNetworkGuard();
