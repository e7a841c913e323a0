# Turns every ```swift block of a Markdown file into a Swift function, for
# .ci/check-dependent-app to compile. `import` lines are hoisted to the top;
# blocks whose first line is "// Package.swift" are manifest snippets and skipped.
BEGIN { n = 0; inblock = 0 }
/^```swift[ \t]*$/ { inblock = 1; first = 1; body = ""; next }
inblock && /^```[ \t]*$/ {
    inblock = 0
    if (!skip) { n++; bodies[n] = body }
    skip = 0
    next
}
inblock {
    if (first) { first = 0; if ($0 ~ /^\/\/ Package\.swift/) skip = 1 }
    if ($0 ~ /^import /) { imports[$0] = 1; next }
    body = body "    " $0 "\n"
    next
}
END {
    print "// Generated from README.md by .ci/readme-examples.awk: do not edit."
    for (i in imports) print i
    for (i = 1; i <= n; i++) {
        printf "func readmeExample%d(frameBytes: [UInt8], packet: Packet, file: CaptureFile, options: CaptureOptions) async throws {\n%s}\n", i, bodies[i]
    }
}
