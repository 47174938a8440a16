import Glibc
import Synchronization

/// Counts heap allocations (calls to `malloc`, `calloc`, `realloc`, `posix_memalign` and
/// `aligned_alloc`) made while a closure runs, so the micro benchmarks can report allocations
/// per operation.
///
/// Why this way: Swift's Glibc module imports no malloc statistics (`mallinfo2` is not in it,
/// and reports bytes in use rather than calls anyway); defining `malloc` in Swift is rejected as
/// a reserved name; the Swift runtime's allocation hook needs its instrumentation mode, whose
/// retain/release adapters crash on Linux; valgrind cannot read this toolchain's DWARF 5. So the
/// counter does what PLT-hooking tools do: it points every loaded object's GOT entries for those
/// functions (the Swift runtime's included, where `swift_allocObject` ends up) at counting
/// wrappers around the C library's own functions, and puts them back afterwards. The pages
/// holding patched entries are left writable; this is a benchmark process.
///
/// x86-64 and AArch64 Linux only; elsewhere `count` returns nil. Call with no other thread
/// allocating: the count is process-wide.
enum AllocationCounter {
    static func count(_ body: () -> Void) -> Int? {
        guard let table = GOTPatcher.shared, !table.slots.isEmpty else { return nil }
        table.install()
        let before = allocationCalls.load(ordering: .relaxed)
        body()
        let after = allocationCalls.load(ordering: .relaxed)
        table.remove()
        return after - before
    }
}

// MARK: Counting wrappers

// C function pointers cannot capture context: the counter and the C library's entry points are
// globals, written once (when the patcher is created) before any wrapper can run.
private let allocationCalls = Atomic<Int>(0)

private typealias Malloc = @convention(c) (Int) -> UnsafeMutableRawPointer?
private typealias Calloc = @convention(c) (Int, Int) -> UnsafeMutableRawPointer?
private typealias Realloc = @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer?
private typealias PosixMemalign = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int, Int) -> Int32
private typealias AlignedAlloc = @convention(c) (Int, Int) -> UnsafeMutableRawPointer?

private nonisolated(unsafe) var libcMalloc: Malloc?
private nonisolated(unsafe) var libcCalloc: Calloc?
private nonisolated(unsafe) var libcRealloc: Realloc?
private nonisolated(unsafe) var libcPosixMemalign: PosixMemalign?
private nonisolated(unsafe) var libcAlignedAlloc: AlignedAlloc?

private let countingMalloc: Malloc = { size in
    allocationCalls.wrappingAdd(1, ordering: .relaxed)
    return libcMalloc!(size)
}
private let countingCalloc: Calloc = { count, size in
    allocationCalls.wrappingAdd(1, ordering: .relaxed)
    return libcCalloc!(count, size)
}
private let countingRealloc: Realloc = { pointer, size in
    allocationCalls.wrappingAdd(1, ordering: .relaxed)
    return libcRealloc!(pointer, size)
}
private let countingPosixMemalign: PosixMemalign = { result, alignment, size in
    allocationCalls.wrappingAdd(1, ordering: .relaxed)
    return libcPosixMemalign!(result, alignment, size)
}
private let countingAlignedAlloc: AlignedAlloc = { alignment, size in
    allocationCalls.wrappingAdd(1, ordering: .relaxed)
    return libcAlignedAlloc!(alignment, size)
}

// MARK: GOT patching

extension AllocationCounter {
    /// The GOT slots of every loaded object (bar the dynamic loader and the C library) that hold one
    /// of the allocation functions, found once through `dl_iterate_phdr` and the objects' dynamic
    /// sections.
    private final class GOTPatcher: @unchecked Sendable {
        struct Slot {
            let address: UnsafeMutablePointer<UInt>
            let original: UInt
            let counting: UInt
        }

        static let shared: GOTPatcher? = GOTPatcher()

        private(set) var slots: [Slot] = []

        #if arch(x86_64)
            private static let jumpSlot: UInt32 = 7  // R_X86_64_JUMP_SLOT
            private static let globalData: UInt32 = 6  // R_X86_64_GLOB_DAT
        #elseif arch(arm64)
            private static let jumpSlot: UInt32 = 1026  // R_AARCH64_JUMP_SLOT
            private static let globalData: UInt32 = 1025  // R_AARCH64_GLOB_DAT
        #endif

        private init?() {
            #if arch(x86_64) || arch(arm64)
                let process = dlopen(nil, RTLD_NOW)
                guard let malloc = dlsym(process, "malloc"), let calloc = dlsym(process, "calloc"),
                    let realloc = dlsym(process, "realloc"), let posixMemalign = dlsym(process, "posix_memalign"),
                    let alignedAlloc = dlsym(process, "aligned_alloc"), let iterate = dlsym(process, "dl_iterate_phdr")
                else { return nil }
                libcMalloc = unsafeBitCast(malloc, to: Malloc.self)
                libcCalloc = unsafeBitCast(calloc, to: Calloc.self)
                libcRealloc = unsafeBitCast(realloc, to: Realloc.self)
                libcPosixMemalign = unsafeBitCast(posixMemalign, to: PosixMemalign.self)
                libcAlignedAlloc = unsafeBitCast(alignedAlloc, to: AlignedAlloc.self)
                let replacements: [String: UInt] = [
                    "malloc": UInt(bitPattern: unsafeBitCast(countingMalloc, to: UnsafeRawPointer.self)),
                    "calloc": UInt(bitPattern: unsafeBitCast(countingCalloc, to: UnsafeRawPointer.self)),
                    "realloc": UInt(bitPattern: unsafeBitCast(countingRealloc, to: UnsafeRawPointer.self)),
                    "posix_memalign": UInt(bitPattern: unsafeBitCast(countingPosixMemalign, to: UnsafeRawPointer.self)),
                    "aligned_alloc": UInt(bitPattern: unsafeBitCast(countingAlignedAlloc, to: UnsafeRawPointer.self)),
                ]
                let originals: [String: UInt] = [
                    "malloc": UInt(bitPattern: malloc), "calloc": UInt(bitPattern: calloc),
                    "realloc": UInt(bitPattern: realloc),
                    "posix_memalign": UInt(bitPattern: posixMemalign), "aligned_alloc": UInt(bitPattern: alignedAlloc),
                ]
                for object in Self.loadedObjects(iterate) {
                    for (address, name) in Self.allocationSlots(object, names: Set(replacements.keys)) {
                        slots.append(Slot(address: address, original: originals[name]!, counting: replacements[name]!))
                    }
                }
            #else
                return nil
            #endif
        }

        func install() {
            for slot in slots { write(slot.counting, to: slot.address) }
        }

        /// Puts the C library's functions back (not whatever the slot held before: a lazily bound
        /// slot held a PLT stub, and the real function is what it would have resolved to).
        func remove() {
            for slot in slots { write(slot.original, to: slot.address) }
        }

        private func write(_ value: UInt, to address: UnsafeMutablePointer<UInt>) {
            let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))
            let start = UInt(bitPattern: address) & ~(pageSize - 1)
            // RELRO made the GOT read-only after relocation.
            mprotect(UnsafeMutableRawPointer(bitPattern: start), Int(pageSize), PROT_READ | PROT_WRITE)
            address.pointee = value
        }

        // MARK: ELF

        /// A loaded object: its load bias and the address of its dynamic section.
        private struct LoadedObject {
            let name: String
            let base: UInt
            let dynamic: UnsafeRawPointer
        }

        private typealias IterateCallback =
            @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32
        private typealias Iterate = @convention(c) (IterateCallback, UnsafeMutableRawPointer?) -> Int32

        /// Collected through `dl_iterate_phdr`'s context pointer (the callback cannot capture).
        private final class Collector {
            var objects: [LoadedObject] = []
        }

        private static func loadedObjects(_ iterate: UnsafeMutableRawPointer) -> [LoadedObject] {
            let collector = Collector()
            let context = Unmanaged.passRetained(collector)
            defer { context.release() }
            // struct dl_phdr_info { Elf64_Addr dlpi_addr; const char *dlpi_name; const Elf64_Phdr *dlpi_phdr; Elf64_Half dlpi_phnum; … }
            _ = unsafeBitCast(iterate, to: Iterate.self)(
                { info, _, data in
                    guard let info, let data else { return 0 }
                    let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
                    let base = UInt(info.load(as: UInt64.self))
                    let name =
                        info.load(fromByteOffset: 8, as: UnsafePointer<CChar>?.self).map { String(cString: $0) } ?? ""
                    guard let headers = info.load(fromByteOffset: 16, as: UnsafeRawPointer?.self) else { return 0 }
                    let count = Int(info.load(fromByteOffset: 24, as: UInt16.self))
                    // Elf64_Phdr is 56 bytes: p_type at 0, p_vaddr at 16. PT_DYNAMIC is 2.
                    for index in 0..<count where headers.load(fromByteOffset: index * 56, as: UInt32.self) == 2 {
                        let address = base + UInt(headers.load(fromByteOffset: index * 56 + 16, as: UInt64.self))
                        collector.objects.append(
                            LoadedObject(name: name, base: base, dynamic: UnsafeRawPointer(bitPattern: address)!))
                    }
                    return 0
                }, context.toOpaque())
            // The loader's and the C library's own allocations are not routed through their GOTs in
            // ways worth counting, and patching the loader is asking for trouble.
            return collector.objects.filter {
                !$0.name.contains("ld-linux") && !$0.name.contains("/libc.so") && !$0.name.contains("vdso")
            }
        }

        /// GOT slots (jump slots and GOT data entries) naming one of `names`.
        private static func allocationSlots(_ object: LoadedObject, names: Set<String>) -> [(
            UnsafeMutablePointer<UInt>, String
        )] {
            var table: [Int64: UInt] = [:]
            var entry = object.dynamic
            while true {
                let tag = entry.load(as: Int64.self)
                if tag == 0 { break }
                table[tag] = UInt(entry.load(fromByteOffset: 8, as: UInt64.self))
                entry += 16
            }
            // glibc relocates these addresses in place for most objects; not for all.
            func address(_ tag: Int64) -> UnsafeRawPointer? {
                guard let value = table[tag] else { return nil }
                return UnsafeRawPointer(bitPattern: value < object.base ? value + object.base : value)
            }
            guard let symbols = address(6), let strings = address(5) else { return [] }  // DT_SYMTAB, DT_STRTAB
            var found: [(UnsafeMutablePointer<UInt>, String)] = []
            // DT_RELA/DT_RELASZ and DT_JMPREL/DT_PLTRELSZ: Elf64_Rela entries of 24 bytes.
            for (tableTag, sizeTag) in [(Int64(7), Int64(8)), (Int64(23), Int64(2))] {
                guard let relocations = address(tableTag), let size = table[sizeTag] else { continue }
                for index in 0..<(Int(size) / 24) {
                    let offset = relocations.load(fromByteOffset: index * 24, as: UInt64.self)
                    let info = relocations.load(fromByteOffset: index * 24 + 8, as: UInt64.self)
                    let type = UInt32(truncatingIfNeeded: info)
                    guard type == jumpSlot || type == globalData else { continue }
                    let symbol = Int(info >> 32)
                    // Elf64_Sym is 24 bytes, st_name (a string-table offset) first.
                    let nameOffset = Int(symbols.load(fromByteOffset: symbol * 24, as: UInt32.self))
                    let name = String(cString: (strings + nameOffset).assumingMemoryBound(to: CChar.self))
                    guard names.contains(name) else { continue }
                    let slot = UnsafeMutablePointer<UInt>(bitPattern: object.base + UInt(offset))!
                    found.append((slot, name))
                }
            }
            return found
        }
    }
}
