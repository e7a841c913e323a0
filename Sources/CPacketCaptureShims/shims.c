#include "CPacketCaptureShims.h"
