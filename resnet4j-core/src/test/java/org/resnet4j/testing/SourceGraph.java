package org.resnet4j.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which resnet4j type each source file uses, read from the sources themselves (imports, qualified
 * names, and simple names of types in the same package), comments and string literals removed.
 * The architecture tests check the package graph and the file graph built from it.
 */
public final class SourceGraph {
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern QUALIFIED = Pattern.compile("\\borg\\.resnet4j\\.((?:[a-z]\\w*\\.)*[a-z]\\w*)\\.([A-Z]\\w*)");
    private static final Pattern COMMENTS_AND_STRINGS = Pattern.compile("//[^\\n]*|/\\*[\\s\\S]*?\\*/|\"\"\"[\\s\\S]*?\"\"\"|\"(?:\\\\.|[^\"\\\\])*\"|'(?:\\\\.|[^'\\\\])'");

    /** One source file: its package (without "org.resnet4j."), its type name, its code without comments. */
    public record Source(String pkg, String type, Path file, String code, String text) {
        public String id() {
            return pkg + "." + type;
        }
    }

    private final Map<String, Source> sources = new TreeMap<>();
    /** file id -> ids of the resnet4j files it uses */
    private final Map<String, Set<String>> uses = new TreeMap<>();

    /** Reads every .java file under {@code root} (a source folder such as src/main/java). */
    public SourceGraph(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(f);
                Matcher m = PACKAGE.matcher(text);
                if (!m.find()) throw new AssertionError(f + ": no package declaration");
                String pkg = m.group(1).replaceFirst("^org\\.resnet4j\\.", "");
                String type = f.getFileName().toString().replace(".java", "");
                String code = COMMENTS_AND_STRINGS.matcher(text).replaceAll(" ");
                Source s = new Source(pkg, type, f, code, text);
                sources.put(s.id(), s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, List<Source>> byPackage = new HashMap<>();
        for (Source s : sources.values()) byPackage.computeIfAbsent(s.pkg(), k -> new ArrayList<>()).add(s);
        for (Source s : sources.values()) {
            Set<String> u = new TreeSet<>();
            Matcher q = QUALIFIED.matcher(s.code());
            while (q.find()) {
                String id = q.group(1) + "." + q.group(2);
                if (!id.equals(s.id())) u.add(id);
            }
            for (Source peer : byPackage.get(s.pkg())) {
                if (peer != s && Pattern.compile("\\b" + peer.type() + "\\b").matcher(s.code()).find()) u.add(peer.id());
            }
            uses.put(s.id(), u);
        }
    }

    public Map<String, Source> sources() {
        return sources;
    }

    /** package -> the other resnet4j packages its files use (including packages outside this tree). */
    public Map<String, Set<String>> packageGraph() {
        Map<String, Set<String>> g = new TreeMap<>();
        for (Source s : sources.values()) {
            Set<String> out = g.computeIfAbsent(s.pkg(), k -> new TreeSet<>());
            for (String id : uses.get(s.id())) {
                String pkg = id.substring(0, id.lastIndexOf('.'));
                if (!pkg.equals(s.pkg())) out.add(pkg);
            }
        }
        return g;
    }

    /** The circles among files (strongly connected components of more than one file), each sorted. */
    public List<List<String>> fileCycles() {
        Map<String, Set<String>> g = new TreeMap<>();
        uses.forEach((k, v) -> {
            Set<String> in = new TreeSet<>();
            for (String id : v) if (sources.containsKey(id)) in.add(id);
            g.put(k, in);
        });
        return components(g);
    }

    /** The circles among the packages of {@link #packageGraph()}. */
    public List<List<String>> packageCycles() {
        return components(packageGraph());
    }

    /** Tarjan's strongly connected components, iteratively; only those of size > 1. */
    public static List<List<String>> components(Map<String, Set<String>> g) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new java.util.HashSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] next = {0};
        for (String root : g.keySet()) {
            if (index.containsKey(root)) continue;
            Deque<Map.Entry<String, java.util.Iterator<String>>> work = new ArrayDeque<>();
            visit(root, g, index, low, stack, onStack, next, work);
            while (!work.isEmpty()) {
                var top = work.peek();
                String v = top.getKey();
                if (top.getValue().hasNext()) {
                    String w = top.getValue().next();
                    if (!g.containsKey(w)) continue;
                    if (!index.containsKey(w)) visit(w, g, index, low, stack, onStack, next, work);
                    else if (onStack.contains(w)) low.put(v, Math.min(low.get(v), index.get(w)));
                } else {
                    work.pop();
                    if (!work.isEmpty()) {
                        String parent = work.peek().getKey();
                        low.put(parent, Math.min(low.get(parent), low.get(v)));
                    }
                    if (low.get(v).equals(index.get(v))) {
                        List<String> c = new ArrayList<>();
                        String w;
                        do {
                            w = stack.pop();
                            onStack.remove(w);
                            c.add(w);
                        } while (!w.equals(v));
                        if (c.size() > 1) {
                            c.sort(null);
                            out.add(c);
                        }
                    }
                }
            }
        }
        return out;
    }

    private static void visit(String v, Map<String, Set<String>> g, Map<String, Integer> index, Map<String, Integer> low,
                              Deque<String> stack, Set<String> onStack, int[] next,
                              Deque<Map.Entry<String, java.util.Iterator<String>>> work) {
        index.put(v, next[0]);
        low.put(v, next[0]++);
        stack.push(v);
        onStack.add(v);
        work.push(Map.entry(v, g.get(v).iterator()));
    }

    /** Public top-level types whose declaration has no javadoc comment right before it (annotations aside). */
    public List<String> publicTypesWithoutJavadoc() {
        Pattern decl = Pattern.compile("^public\\s+(?:(?:final|abstract|sealed|non-sealed)\\s+)*(?:class|interface|record|enum|@interface)\\s", Pattern.MULTILINE);
        Pattern annotations = Pattern.compile("(?:\\s*@\\w+(?:\\((?:[^()]|\\([^()]*\\))*\\))?)*\\s*$");
        List<String> missing = new ArrayList<>();
        for (Source s : sources.values()) {
            Matcher m = decl.matcher(s.text());
            if (!m.find()) continue;
            String before = s.text().substring(0, m.start());
            Matcher a = annotations.matcher(before);
            String head = a.find() ? before.substring(0, a.start()) : before;
            if (!head.stripTrailing().endsWith("*/")) missing.add(s.id());
        }
        return missing;
    }
}
