/* gossip.h: the one header applications include. */
#pragma once

#define GOSSIP_INSIDE_GOSSIP_H
#include "gossip-version.h"
#include "gossip-plugin.h"
#include "gossip-clock.h"
#include "gossip-config.h"
#include "gossip-codec.h"
#include "gossip-cipher.h"
#include "gossip-compressor.h"
#include "gossip-transport.h"
#include "gossip-frame.h"
#include "gossip-memory-network.h"
#include "gossip-node.h"
#include "gossip-cluster.h"
#include "gossip-stream.h"
#include "gossip-address.h"
#include "gossip-leader.h"
#undef GOSSIP_INSIDE_GOSSIP_H
