#include "CSwiftcapHelper.h"
