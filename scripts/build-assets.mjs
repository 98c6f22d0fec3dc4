// Compile the council-branded stylesheet and copy GOV.UK Frontend's JavaScript and images
// into marketplace/static (git-ignored build output).
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as sass from 'sass'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const govuk = join(root, 'node_modules', 'govuk-frontend', 'dist', 'govuk')
const staticDir = join(root, 'marketplace', 'static')

rmSync(join(staticDir, 'govuk'), { recursive: true, force: true })
mkdirSync(join(staticDir, 'govuk', 'assets'), { recursive: true })
mkdirSync(join(staticDir, 'dist'), { recursive: true })

for (const file of ['govuk-frontend.min.js', 'govuk-frontend.min.js.map']) {
  cpSync(join(govuk, file), join(staticDir, 'govuk', file))
}
cpSync(join(govuk, 'assets', 'images'), join(staticDir, 'govuk', 'assets', 'images'), { recursive: true })

const result = sass.compile(join(root, 'assets', 'application.scss'), {
  loadPaths: [join(root, 'node_modules')],
  style: 'compressed',
  quietDeps: true,
  silenceDeprecations: ['import']
})
writeFileSync(join(staticDir, 'dist', 'application.css'), result.css)
console.log('assets built: marketplace/static/dist/application.css, marketplace/static/govuk/')
