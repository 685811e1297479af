# api: liblars, the C client library (static and shared, one header lars.h).
LIBLARS_SRCS := $(wildcard api/*.c)
LIBLARS_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIBLARS_SRCS))
