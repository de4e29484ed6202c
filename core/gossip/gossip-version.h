/* gossip-version.h: versions of the library, the wire protocol and the plugin ABI. */
#pragma once

/** GOSSIP_PROTOCOL_VERSION: the membership protocol spoken by this build. */
#define GOSSIP_PROTOCOL_VERSION 1
/** GOSSIP_PROTOCOL_VERSION_MIN: the oldest protocol version this build talks to. */
#define GOSSIP_PROTOCOL_VERSION_MIN 1
/** GOSSIP_FRAME_VERSION: the frame header layout (docs/PROTOCOL.md). */
#define GOSSIP_FRAME_VERSION 1
