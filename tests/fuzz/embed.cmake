# Writes a file's bytes as a C++ array, for a fuzz target that embeds its
# fixture (a header, so ccache and the dependency scanner see the bytes):
#   cmake -DIN=zoo.ko -DOUT=module.h -DNAME=kZooModule -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "(..)" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// Generated from ${IN} by tests/fuzz/embed.cmake.\nconst unsigned char ${NAME}[] = {${bytes}};\n")
