# Kura for Windows x64:  powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1
#
#   dist\Kura\Kura.exe                          the app, one folder
#   dist\Kura-<version>-windows-x64-setup.exe   the installer (Inno Setup, packaging\kura.iss)
#
# UNTESTED: written without a Windows machine to run it on (Kura's CI is Linux). Review
# before use.
#
# Needs: Python 3.11+ x64 (python.org; `py -3.11`), Visual Studio 2022 Build Tools with
# "Desktop development with C++" (MSVC and CMake), and Inno Setup 6 (ISCC.exe) for the
# installer. Run it from a "Developer PowerShell for VS 2022" so that cl.exe is on PATH.
#
# llama.cpp is built without -march=native: every x86-64 CPU variant as its own DLL, the
# best one chosen at run time (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS). Set
# $env:KURA_LLAMA_GPU = "cuda" or "vulkan" to add that backend (needs the CUDA toolkit or
# the Vulkan SDK). The builds are cached in %LOCALAPPDATA%\kura-build\package, keyed by
# version and flags (pip's own cache would ignore the flags).
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Repo = (Resolve-Path "$PSScriptRoot\..").Path
$Cache = if ($env:KURA_BUILD_CACHE) { "$env:KURA_BUILD_CACHE\package" } else { "$env:LOCALAPPDATA\kura-build\package" }
$Python = if ($env:PYTHON) { $env:PYTHON } else { "py -3.11" }
$LlamaVersion = if ($env:LLAMA_CPP_VERSION) { $env:LLAMA_CPP_VERSION } else { "0.3.36" }
$HnswlibVersion = if ($env:HNSWLIB_VERSION) { $env:HNSWLIB_VERSION } else { "0.8.0" }

function Log($message) { Write-Host "`n==> $message" }
function Run($exe, [string[]]$arguments) {
    & $exe @arguments
    if ($LASTEXITCODE -ne 0) { throw "failed ($LASTEXITCODE): $exe $($arguments -join ' ')" }
}
function Hash12([string]$text) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $bytes = $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($text))
    return (-join ($bytes | ForEach-Object { $_.ToString("x2") })).Substring(0, 12)
}
function New-Venv($path) {
    $parts = $Python.Split(" ")
    Run $parts[0] (@($parts | Select-Object -Skip 1) + @("-m", "venv", $path))
    Run "$path\Scripts\python.exe" @("-m", "pip", "install", "--quiet", "--upgrade", "pip", "wheel")
}

New-Item -ItemType Directory -Force -Path $Cache | Out-Null

# --- portable native wheels ------------------------------------------------------------
$include = ("$Repo\packaging\cmake\install_cpu_variants.cmake").Replace("\", "/")
$cmakeArgs = "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF " +
             "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF " +
             "-DLLAMA_BUILD_SERVER=OFF -DCMAKE_PROJECT_INCLUDE=$include"
switch ($env:KURA_LLAMA_GPU) {
    "cuda" { $cmakeArgs += " -DGGML_CUDA=ON" }
    "vulkan" { $cmakeArgs += " -DGGML_VULKAN=ON" }
    { $_ -and $_ -notin @("cuda", "vulkan") } { throw "KURA_LLAMA_GPU must be cuda, vulkan or empty" }
}
# Keyed without the checkout's path (a CI clone lands in a new folder every run).
$key = Hash12 ("llama-cpp-python==$LlamaVersion $($cmakeArgs.Replace($include, 'REPO'))`n" +
               (Get-Content -Raw "$Repo\packaging\cmake\install_cpu_variants.cmake") +
               "hnswlib==$HnswlibVersion HNSWLIB_NO_NATIVE=1 win_amd64")
$Wheels = "$Cache\wheels\llama-$LlamaVersion-hnswlib-$HnswlibVersion-$key"
if (Test-Path "$Wheels\.complete") {
    Log "portable wheels: reusing $Wheels"
} else {
    Log "portable wheels: building into $Wheels (llama.cpp takes a while)"
    $builder = "$Cache\wheel-builder"
    if (-not (Test-Path "$builder\Scripts\pip.exe")) { New-Venv $builder }
    $partial = "$Wheels.partial"
    if (Test-Path $partial) { Remove-Item -Recurse -Force $partial }
    New-Item -ItemType Directory -Force -Path $partial | Out-Null
    $env:HNSWLIB_NO_NATIVE = "1"  # MSVC flags carry no /arch anyway
    Run "$builder\Scripts\pip.exe" @("wheel", "--no-deps", "--no-cache-dir", "--no-binary", "hnswlib",
                                     "hnswlib==$HnswlibVersion", "-w", $partial)
    $env:CMAKE_ARGS = $cmakeArgs
    $env:CMAKE_BUILD_PARALLEL_LEVEL = "$env:NUMBER_OF_PROCESSORS"
    Run "$builder\Scripts\pip.exe" @("wheel", "--no-deps", "--no-cache-dir", "--no-binary",
                                     "llama-cpp-python", "llama-cpp-python==$LlamaVersion", "-w", $partial)
    Remove-Item Env:\CMAKE_ARGS
    Set-Content "$partial\FLAGS" "llama-cpp-python==$LlamaVersion CMAKE_ARGS=$cmakeArgs"
    New-Item -ItemType File "$partial\.complete" | Out-Null
    if (Test-Path $Wheels) { Remove-Item -Recurse -Force $Wheels }
    Move-Item $partial $Wheels
}

# --- packaging venv --------------------------------------------------------------------
$venvKey = Hash12 ((Split-Path -Leaf $Wheels) + (Get-Content -Raw "$Repo\pyproject.toml") +
                   (Get-Content -Raw "$Repo\packaging\requirements.txt"))
$Venv = "$Cache\venv-$venvKey"
if (-not (Test-Path "$Venv\.complete")) {
    Log "packaging venv: creating $Venv"
    if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
    New-Venv $Venv
    Run "$Venv\Scripts\pip.exe" @("install", "--quiet", "--no-index", "--find-links", $Wheels, "--no-deps",
                                  "llama-cpp-python==$LlamaVersion", "hnswlib==$HnswlibVersion")
    $reqs = "$Venv\kura-runtime-requirements.txt"
    & "$Venv\Scripts\python.exe" -c "import tomllib, sys; open(sys.argv[2], 'w').write('\n'.join(tomllib.load(open(sys.argv[1], 'rb'))['project']['dependencies']))" "$Repo\pyproject.toml" $reqs
    if ($LASTEXITCODE -ne 0) { throw "could not read the dependencies from pyproject.toml" }
    Run "$Venv\Scripts\pip.exe" @("install", "--quiet", "-r", $reqs, "-r", "$Repo\packaging\requirements.txt")
    & "$Venv\Scripts\pip.exe" show torch 2>$null | Out-Null
    if ($LASTEXITCODE -eq 0) { throw "the packaging venv pulled in torch: check the dependencies" }
    New-Item -ItemType File "$Venv\.complete" | Out-Null
}

# --- Kura, PyInstaller -----------------------------------------------------------------
Log "Kura into the packaging venv"
Run "$Venv\Scripts\pip.exe" @("install", "--quiet", "--no-deps", "--no-build-isolation", "--force-reinstall", $Repo)
Log "PyInstaller"
Push-Location $Repo
try {
    Run "$Venv\Scripts\pyinstaller.exe" @("--noconfirm", "--log-level", "WARN", "--workpath", "$Repo\build\pyinstaller",
                                          "--distpath", "$Repo\dist", "packaging\kura.spec")
} finally { Pop-Location }
$Version = & "$Venv\Scripts\python.exe" -c "import desktop_app; print(desktop_app.__version__)"

# --- selftest (a windowed app: no console; the report is in the log) -------------------
Log "selftest"
$home_ = Join-Path $env:TEMP "kura-selftest-$PID"
$env:KURA_HOME = $home_
$env:QT_QPA_PLATFORM = "offscreen"
$proc = Start-Process -FilePath "$Repo\dist\Kura\Kura.exe" -ArgumentList "--selftest" -Wait -PassThru
Remove-Item Env:\QT_QPA_PLATFORM
Remove-Item Env:\KURA_HOME
Get-Content "$home_\logs\kura.log" | Select-Object -Last 30
if ($proc.ExitCode -ne 0) { throw "the packaged selftest failed (log: $home_\logs\kura.log)" }

# --- installer -------------------------------------------------------------------------
$iscc = (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) { $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (Test-Path $iscc) {
    Log "installer (Inno Setup)"
    Run $iscc @("/Qp", "/DAppVersion=$Version", "$Repo\packaging\kura.iss")
    Get-Item "$Repo\dist\Kura-$Version-windows-x64-setup.exe"
} else {
    Log "no Inno Setup 6 (ISCC.exe): skipped the installer; dist\Kura is complete"
}
