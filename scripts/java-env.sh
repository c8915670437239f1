# Sourced by gstick and .ci/run: finds a JDK 25 and exports JAVA_HOME, or explains what is missing.
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "25'; then
  for cand in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/jdk-25*; do
    if [ -x "$cand/bin/java" ] && "$cand/bin/java" -version 2>&1 | grep -qE 'version "25'; then
      export JAVA_HOME="$cand"
      break
    fi
  done
fi
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "25'; then
  echo "error: Golden Stick for Java needs JDK 25 (Temurin 25 recommended, with the jdk.incubator.vector module)." >&2
  echo "       Install it (e.g. to /usr/lib/jvm/temurin-25-jdk-amd64) or point JAVA_HOME at it." >&2
  exit 1
fi
export PATH="$JAVA_HOME/bin:$PATH"
export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"  # quiets Maven's own Guava warnings on JDK 25
