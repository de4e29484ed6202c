/* gossip-uuid.c: UUIDv7 node IDs (RFC 9562): 48 bits of Unix milliseconds,
 * then random bits, so IDs sort by creation time and never collide in
 * practice.  GLib only makes version 4 UUIDs. */
#include "config.h"

#include "gossip-uuid.h"

char *
_gossip_uuid_v7_new (GossipClock *clock)
{
  guint64 ms = (guint64) (gossip_clock_now_wall (clock) / 1000);
  guint8 b[16];

  for (guint i = 0; i < 6; i++)
    b[i] = (guint8) (ms >> (40 - 8 * i));
  for (guint i = 6; i < 16; i += 4)
    {
      guint32 r = g_random_int ();
      for (guint j = 0; j < 4 && i + j < 16; j++)
        b[i + j] = (guint8) (r >> (8 * j));
    }
  b[6] = (guint8) (0x70 | (b[6] & 0x0f)); /* version 7 */
  b[8] = (guint8) (0x80 | (b[8] & 0x3f)); /* RFC 9562 variant */
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                          b[12], b[13], b[14], b[15]);
}
