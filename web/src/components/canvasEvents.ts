/** Smallest size a LAN box can be resized to. */
export const MIN_LAN = { w: 220, h: 120 };
