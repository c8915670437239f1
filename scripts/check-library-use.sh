#!/usr/bin/env bash
# Checks that the library works as a dependency of a separate Maven project, outside this checkout:
#  1. installs goldenstick-parent/core/cli (jar, sources, javadoc) into a temporary local repository (third-party
#     artifacts come read-only from ~/.m2 through Maven's chained local repository, maven.repo.local.tail);
#  2. checks the core jar's manifest (Automatic-Module-Name) and that the sources and javadoc jars were installed;
#  3. writes a new Maven project in a temporary folder from every README block marked `<!-- library-example: F.java -->`,
#     builds it against the installed artifacts, and runs it there with an empty data cache (no gstick.root, no
#     checkout above the working folder), so the digits must come from the jar.
# Prints "library-use: N passed, 0 failed" and exits 0 when all holds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/java-env.sh"
tmp="$(mktemp -d /tmp/gstick-library-use.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
tail_repo="${MAVEN_REPO_TAIL:-$HOME/.m2/repository}"
mvn_repo=(-Dmaven.repo.local="$repo" -Dmaven.repo.local.tail="$tail_repo")
passed=0
fail() { echo "library-use: FAILED: $*" >&2; echo "library-use: $passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); echo "library-use: ok: $*"; }

echo "library-use: installing the artifacts into $repo"
(cd "$root" && ./mvnw -B -q install -DskipTests "${mvn_repo[@]}") || fail "mvn install into the temporary repository"
art="$repo/org/goldenstick/goldenstick-core/0.1.0-SNAPSHOT"
for f in goldenstick-core-0.1.0-SNAPSHOT.jar goldenstick-core-0.1.0-SNAPSHOT-sources.jar goldenstick-core-0.1.0-SNAPSHOT-javadoc.jar; do
  [ -s "$art/$f" ] || fail "$art/$f was not installed"
done
ok "core jar, sources jar and javadoc jar installed"
# listings go to files first: grep -q under pipefail would fail the pipeline when it stops reading early (SIGPIPE)
unzip -p "$art/goldenstick-core-0.1.0-SNAPSHOT.jar" META-INF/MANIFEST.MF > "$tmp/manifest"
grep -q '^Automatic-Module-Name: org.goldenstick.core' "$tmp/manifest" || fail "core jar manifest lacks Automatic-Module-Name: org.goldenstick.core"
unzip -l "$art/goldenstick-core-0.1.0-SNAPSHOT-javadoc.jar" > "$tmp/javadoc.list"
grep -q 'org/goldenstick/data/Datasets.html' "$tmp/javadoc.list" || fail "javadoc jar has no Datasets.html"
ok "manifest names the module org.goldenstick.core; javadoc jar documents the API"

app="$tmp/app"
mkdir -p "$app/src/main/java"
# Every README block marked <!-- library-example: NAME.java --> becomes src/main/java/NAME.java.
n=$(awk -v dir="$app/src/main/java" '
  /<!-- library-example: [A-Za-z0-9_]+\.java -->/ { match($0, /[A-Za-z0-9_]+\.java/); file = dir "/" substr($0, RSTART, RLENGTH); want = 1; next }
  want && /^```java/ { inside = 1; want = 0; count++; next }
  inside && /^```/ { inside = 0; close(file); next }
  inside { print > file }
  END { print count + 0 }' "$root/README.md")
[ "$n" -ge 1 ] || fail "README.md has no <!-- library-example: F.java --> java block"
cat > "$app/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>uses-goldenstick</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>25</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.goldenstick</groupId>
      <artifactId>goldenstick-core</artifactId>
      <version>0.1.0-SNAPSHOT</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
        <configuration>
          <compilerArgs><arg>--add-modules</arg><arg>jdk.incubator.vector</arg></compilerArgs>
        </configuration>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
POM
(cd "$app" && export MAVEN_OPTS="${MAVEN_OPTS:-} --enable-native-access=ALL-UNNAMED" && "$root/mvnw" -B -q package "${mvn_repo[@]}" && "$root/mvnw" -B -q dependency:build-classpath -Dmdep.outputFile=cp.txt "${mvn_repo[@]}") \
  || fail "the README example project does not build against the installed artifacts"
ok "$n README example(s) compiled in a separate Maven project"
mkdir -p "$tmp/cache" "$tmp/home"
for src in "$app"/src/main/java/*.java; do
  main="$(basename "$src" .java)"
  grep -q 'static void main' "$src" || continue
  out="$tmp/$main.out"
  # No gstick.root, a working folder outside the checkout, an empty cache: only the jar can supply the data.
  if ! (cd "$app" && env -u GSTICK_DATA_CACHE HOME="$tmp/home" "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector \
        -Dgstick.data.cache="$tmp/cache" -cp "target/classes:$(cat cp.txt)" "$main" >"$out" 2>"$out.err"); then
    cat "$out" "$out.err" >&2
    fail "README example $main exited with an error"
  fi
  cat "$out"
  ok "README example $main ran outside the checkout"
done
echo "library-use: $passed passed, 0 failed"
