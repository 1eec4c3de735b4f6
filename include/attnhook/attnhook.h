// attnhook — capture the attention weights of LibTorch Transformer models.
// Umbrella header: includes every public header.
#pragma once

#include "attnhook/error.h"
#include "attnhook/export.h"
#include "attnhook/hooker.h"
#include "attnhook/options.h"
#include "attnhook/render.h"
#include "attnhook/torchscript.h"
#include "attnhook/values.h"
