# Writes OUT: a C array of {name, sql} for every migration file in FILES.
set(body "/* generated from the schema directory by cmake/embed_migrations.cmake */\n#include \"slad/migrations.h\"\n\nconst struct migration migrations[] = {\n")
string(REPLACE "|" ";" FILES "${FILES}")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  file(READ ${f} sql HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" sql "${sql}")
  # Split long literal lines so compilers stay happy.
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){64})" "\\1\"\n    \"" sql "${sql}")
  string(APPEND body "  {\"${name}\",\n    \"${sql}\"},\n")
endforeach()
string(APPEND body "  {0, 0}\n};\n")
file(WRITE ${OUT} "${body}")
